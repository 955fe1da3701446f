import { test, expect } from "./fixtures";

test.beforeEach(async ({ request }) => {
  await expect
    .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
    .toBe(200);
});

test("the anomaly-score chart is drawn with the model's threshold", async ({ page }) => {
  await page.goto("/");
  await page.waitForFunction(
    () => {
      const chart = (window as any).Chart?.getChart(document.getElementById("chart-score"));
      return !!chart && chart.data.labels.length > 0 && typeof chart.$lookout?.threshold === "number";
    },
    undefined,
    { timeout: 30_000 },
  );
  const s = await page.evaluate(() => {
    const chart = (window as any).Chart.getChart(document.getElementById("chart-score"));
    return {
      datasets: chart.data.datasets.length,
      points: chart.data.datasets[0].data.length,
      labels: chart.data.labels.length,
      max: chart.options.scales.y.max,
      threshold: chart.$lookout.threshold,
      bands: Array.isArray(chart.$lookout.bands),
    };
  });
  expect(s.datasets).toBe(1);
  expect(s.points).toBe(s.labels);
  // The score is a surprise (-log10 p): no fixed top, the threshold a few units.
  expect(s.max).toBeUndefined();
  expect(s.threshold).toBeGreaterThan(0);
  expect(s.threshold).toBeLessThanOrEqual(300);
  expect(s.bands).toBe(true);
  // Every metric chart carries the (possibly empty) list of shaded periods.
  const marked = await page.evaluate(() =>
    ["cpu", "memory", "load", "disk", "network"].every(
      (id) => Array.isArray((window as any).Chart.getChart(document.getElementById(`chart-${id}`))?.$lookout?.bands),
    ),
  );
  expect(marked).toBe(true);
});

test("the model panel shows the detector's state", async ({ page, request }) => {
  const api = await (await request.get("/api/model")).json();
  await page.goto("/");
  const state = page.locator("#model-state");
  await expect(state).not.toHaveText("loading…");
  if (api.enabled) {
    await expect(state).toHaveText(/learning|trained|warm/i);
    await expect(page.locator("#model-threshold")).toHaveText(/^\d\.\d{3}$/);
  } else {
    await expect(state).toHaveText("anomaly detection is off");
  }
});

test("the events list renders, with an empty-state text when there are none", async ({ page, request }) => {
  const api = await (await request.get("/api/anomalies?from=-15m")).json();
  await page.goto("/");
  if (api.events.length === 0) {
    await expect(page.locator("#events-empty")).toHaveText("No anomalies in this range.");
  } else {
    await expect(page.locator("#events li.event").first()).toBeVisible();
    await expect(page.locator("#events-empty")).toHaveCount(0);
  }
});

test("the sensitivity select posts and the choice survives a reload", async ({ page, request }) => {
  const api = await (await request.get("/api/model")).json();
  test.skip(!api.enabled, "anomaly detection is off");
  await page.goto("/");
  const select = page.locator("#sensitivity");
  await expect(select).toHaveValue(api.sensitivity);
  const posted = page.waitForResponse(
    (r) => r.url().endsWith("/api/model/sensitivity") && r.request().method() === "POST",
  );
  await select.selectOption("high");
  expect((await posted).ok()).toBe(true);
  await page.reload();
  await expect(page.locator("#sensitivity")).toHaveValue("high");
  expect((await (await request.get("/api/model")).json()).sensitivity).toBe("high");
  // Back to what it was, for the other tests.
  const restored = await request.post("/api/model/sensitivity", { data: { sensitivity: api.sensitivity } });
  expect(restored.ok()).toBe(true);
});

test("the alerts panel renders, and a silence is added and ended from it", async ({ page, request }) => {
  const api = await (await request.get("/api/alerts")).json();
  await page.goto("/");
  const panel = page.locator("#alerts");
  await expect(panel).toHaveAttribute("data-loaded", "true");
  if (api.active.length === 0) {
    await expect(page.locator("#alerts-none")).toBeVisible();
  }
  await expect(page.locator("#alert-channels li")).toHaveCount(api.channels.length);

  await page.fill("#silence-form input[name=rule]", "e2e_rule");
  await page.fill("#silence-form input[name=duration]", "1h");
  await page.fill("#silence-form input[name=comment]", "from the e2e test");
  const added = page.waitForResponse((r) => r.url().endsWith("/api/silences") && r.request().method() === "POST");
  await page.click("#silence-form button[type=submit]");
  expect((await added).status()).toBe(201);
  const row = page.locator("#silences tbody tr", { hasText: "from the e2e test" });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("e2e_rule");

  const ended = page.waitForResponse((r) => /\/api\/silences\/\d+$/.test(r.url()) && r.request().method() === "DELETE");
  await row.locator("button.end-silence").click();
  expect((await ended).ok()).toBe(true);
  await expect(row).toHaveCount(0);
});
