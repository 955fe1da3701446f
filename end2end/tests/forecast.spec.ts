import { test, expect, waitForCharts } from "./fixtures";
import type { Page } from "@playwright/test";

/**
 * The dashboard's forecasts (issue 14): the cards say the API's own words, the memory
 * chart carries the dashed forecast line and its band, and the cards follow `?host=`.
 * (The fixture fails any test on a console or page error.)
 */

async function recordViolations(page: Page) {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

/** The memory chart's datasets: label, dash and how many finite values each holds. */
async function memoryDatasets(page: Page) {
  return page.evaluate(() => {
    const chart = (window as any).Chart.getChart(document.getElementById("chart-memory"));
    return {
      labels: chart.data.labels.length,
      sets: chart.data.datasets.map((d: any) => ({
        label: d.label,
        dash: d.borderDash ?? null,
        fill: d.fill ?? null,
        values: d.data.filter((v: any) => typeof v === "number" && Number.isFinite(v)),
      })),
    };
  });
}

test.beforeEach(async ({ request }) => {
  await expect
    .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
    .toBe(200);
});

test("a young server's cards say how much history is missing, in the API's words", async ({ page, request }, info) => {
  await recordViolations(page);
  const api = await (await request.get("/api/forecast?metric=all&horizon=24h")).json();
  expect(api.forecasts.length).toBeGreaterThan(0);
  await page.goto("/");
  await waitForCharts(page);
  const cards = page.locator("#forecasts .card");
  await expect(cards).toHaveCount(api.forecasts.length);
  // Minutes of history only: every verdict is "not enough history: N of 60 minutes".
  for (const f of api.forecasts) {
    const id = "card-forecast-" + f.metric.replace(/[^A-Za-z0-9]/g, "-").replace(/^-+|-+$/g, "");
    await expect(page.locator(`#${id} .forecast-verdict`)).toHaveText(
      /^not enough history: \d+ of 60 minutes$/,
    );
  }
  await expect(page.locator("#card-forecast-memory-used-bytes .card-title")).toHaveText("Memory used forecast");
  // The memory chart has the forecast's datasets, the line dashed, nothing in them yet.
  const m = await memoryDatasets(page);
  expect(m.sets.map((s: any) => s.label)).toEqual(["memory used", "forecast low", "forecast high", "forecast"]);
  expect(m.sets[3].dash).toEqual([6, 4]);
  expect(m.sets[2].fill).toBe("-1");
  expect(m.sets[3].values.length).toBe(0);
  expect(await page.evaluate(() => (window as any).__csp)).toEqual([]);
  await page.locator("#forecasts").screenshot({ path: info.outputPath("forecast-cards-young.png") });
});

test("a forecast that reaches its bound shows a time-to-full and a dashed line with its band", async ({ page }, info) => {
  await recordViolations(page);
  // The server is minutes old: the browser's forecast answer is a made-up one with a
  // trend (memory 50 % of 8 GiB now, full in 5 h), the rest of the page is the real server's.
  const now = Date.now();
  const total = 8 * 2 ** 30;
  const line = Array.from({ length: 25 }, (_, k) => {
    const t = now + k * 3600_000;
    const v = total * (0.5 + 0.1 * k);
    return { t, v, low: v - 0.02 * total, high: v + 0.02 * total };
  });
  const memory = {
    metric: "memory_used_bytes",
    label: "memory used",
    unit: "bytes",
    status: "reaches",
    message: "memory used full in ~5 h",
    bound: total,
    rising: true,
    current: total / 2,
    trend_now: total / 2,
    slope_per_hour: 0.1 * total,
    slope_low_per_hour: 0.09 * total,
    slope_high_per_hour: 0.11 * total,
    time_to_bound_secs: 5 * 3600,
    time_to_bound_low_secs: 4.5 * 3600,
    time_to_bound_high_secs: 5.5 * 3600,
    reaches_at: now + 5 * 3600_000,
    within_horizon: true,
    history_secs: 3 * 86400,
    required_history_secs: 3600,
    leak_suspected: true,
    line,
  };
  await page.route("**/api/forecast?*", (route) =>
    route.fulfill({
      contentType: "application/json",
      body: JSON.stringify({ generated_at: now, horizon_secs: 86400, forecasts: [memory] }),
    }),
  );
  await page.goto("/");
  await waitForCharts(page);
  const card = page.locator("#card-forecast-memory-used-bytes");
  await expect(card.locator(".forecast-verdict")).toHaveText("memory used full in ~5 h");
  await expect(card.locator(".card-sub")).toContainText("leak suspected");
  await expect(card.locator(".card-sub")).toContainText("between ~4 h");
  await expect(card).toHaveClass(/alert/);
  // The chart runs past now: the dashed line from the newest point on, in percent of
  // the total (50 % rising), the band's edges around it.
  await expect.poll(async () => (await memoryDatasets(page)).sets[3].values.length).toBeGreaterThan(1);
  const m = await memoryDatasets(page);
  const [low, high, fc] = [m.sets[1].values, m.sets[2].values, m.sets[3].values];
  expect(m.labels).toBeGreaterThan(m.sets[0].values.length);
  expect(low.length).toBeGreaterThan(0);
  expect(high.length).toBe(low.length);
  expect(fc.length).toBe(low.length + 1); // it starts at the newest drawn value
  for (const v of fc.slice(1)) {
    expect(v).toBeGreaterThanOrEqual(49);
    expect(v).toBeLessThanOrEqual(100);
  }
  for (let i = 0; i < low.length; i++) expect(high[i]).toBeGreaterThan(low[i]);
  expect(await page.evaluate(() => (window as any).__csp)).toEqual([]);
  await page.locator("#panel-memory").screenshot({ path: info.outputPath("memory-forecast.png") });
});

test("the cards follow the URL's host", async ({ page, request }) => {
  // This server's own host name, as /metrics reports it.
  const host = String((await (await request.get("/metrics")).json()).host ?? "").trim();
  expect(host.length).toBeGreaterThan(0);
  const asked: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/forecast") asked.push(u.search);
  });
  await page.goto(`/?host=${encodeURIComponent(host)}`);
  await waitForCharts(page);
  await expect.poll(() => asked.length).toBeGreaterThan(0);
  // The server's own host is asked for without host= (the page shows this server's
  // data); any other name would be sent as typed.
  expect([null, host]).toContain(new URLSearchParams(asked[0]).get("host"));
  await expect(page.locator("#forecasts .card").first()).toBeVisible();
  // An unknown host is a 400 naming the parameter.
  const bad = await request.get("/api/forecast?host=no-such-host");
  expect(bad.status()).toBe(400);
  expect((await bad.json()).param).toBe("host");
});
