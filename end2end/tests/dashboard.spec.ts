import { test, expect, waitForCharts, chartState, cardValue, CHART_IDS } from "./fixtures";

const PERCENT = /^\d+(\.\d)? %$/;

test.beforeEach(async ({ request }) => {
  // The page needs a first sample to render values.
  await expect
    .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
    .toBe(200);
});

test("the page loads, hydrates and draws every chart", async ({ page }, info) => {
  for (const path of ["/", "/dashboard"]) {
    await page.goto(path);
    await waitForCharts(page);
    expect(await cardValue(page, "cpu")).toMatch(PERCENT);
    expect(await cardValue(page, "memory")).toMatch(PERCENT);
    await expect(page.locator("#link")).toHaveAttribute("data-state", "open");
  }
  // Per-core bars, both process tables, the anomaly card (unscored for now).
  expect(await page.locator("#cores li.core").count()).toBeGreaterThan(0);
  await expect(page.locator("#top-cpu tbody tr").first()).toBeVisible();
  await expect(page.locator("#top-memory tbody tr").first()).toBeVisible();
  await expect(page.locator("#card-anomaly .card-value")).toBeVisible();
  // Load has three lines, disk and network two each; memory and disk space have their line plus the
  // forecast's band edges and dashed line (empty until there is a forecast).
  const lines = await page.evaluate((ids) =>
    ids.map((id) => (window as any).Chart.getChart(document.getElementById(`chart-${id}`)).data.datasets.length),
    CHART_IDS,
  );
  expect(lines).toEqual([1, 4, 3, 2, 4, 2]);
  await expect(page.locator("#panel-cpu")).toBeVisible();
  await expect(page.locator("p.note")).toHaveCount(0);
  await page.setViewportSize({ width: 1280, height: 1400 });
  await page.screenshot({ path: info.outputPath("dashboard-desktop.png"), fullPage: true });
});

test("charts receive data that changes over time", async ({ page }) => {
  await page.goto("/");
  await waitForCharts(page);
  const before = await chartState(page, "cpu");
  await page.waitForTimeout(3_500);
  const after = await chartState(page, "cpu");
  expect(after.lastLabel).not.toEqual(before.lastLabel);
  expect(after.points).toBeGreaterThan(before.points);
  // The cards follow too.
  const asOf = await page.locator("#as-of").innerText();
  await expect(page.locator("#as-of")).not.toHaveText(asOf);
});

test("the refresh control pauses, resumes and is remembered", async ({ page }) => {
  await page.goto("/");
  await waitForCharts(page);
  await expect(page.locator("#refresh")).toHaveValue("1");

  await page.selectOption("#refresh", "paused");
  await expect(page.locator("#link")).toHaveAttribute("data-state", "paused");
  // Let a history reload (on pause) land, then nothing may move.
  await page.waitForTimeout(1_000);
  const paused = await chartState(page, "cpu");
  const pausedAsOf = await page.locator("#as-of").innerText();
  await page.waitForTimeout(3_000);
  expect(await chartState(page, "cpu")).toEqual(paused);
  await expect(page.locator("#as-of")).toHaveText(pausedAsOf);

  // Survives a reload: still paused, still not moving.
  await page.reload();
  await waitForCharts(page);
  await expect(page.locator("#refresh")).toHaveValue("paused");
  await expect(page.locator("#link")).toHaveAttribute("data-state", "paused");
  const reloaded = await chartState(page, "cpu");
  await page.waitForTimeout(2_500);
  expect((await chartState(page, "cpu")).lastLabel).toEqual(reloaded.lastLabel);

  // Back to every second: it moves again.
  await page.selectOption("#refresh", "1");
  await expect(page.locator("#link")).toHaveAttribute("data-state", "open");
  const resumed = await chartState(page, "cpu");
  await expect
    .poll(async () => (await chartState(page, "cpu")).lastLabel, { timeout: 10_000 })
    .not.toEqual(resumed.lastLabel);

  await page.reload();
  await waitForCharts(page);
  await expect(page.locator("#refresh")).toHaveValue("1");
});

test("the range control loads history", async ({ page }) => {
  await page.goto("/");
  await waitForCharts(page);
  await expect(page.locator("#charts")).toHaveAttribute("data-loaded-range", "live");
  // Live labels carry seconds.
  expect((await chartState(page, "cpu")).lastLabel).toMatch(/^\d\d:\d\d:\d\d$/);

  await page.selectOption("#range", "1h");
  await expect(page.locator("#charts")).toHaveAttribute("data-loaded-range", "1h");
  const hour = await chartState(page, "cpu");
  expect(hour.points).toBeGreaterThan(0);
  expect(hour.lastLabel).toMatch(/^\d\d:\d\d$/);
  // A past range is a fixed window: live samples are not appended.
  await page.waitForTimeout(2_500);
  expect(await chartState(page, "cpu")).toEqual(hour);

  await page.selectOption("#range", "7d");
  await expect(page.locator("#charts")).toHaveAttribute("data-loaded-range", "7d");
  const week = await chartState(page, "cpu");
  // Week labels carry the day (a fresh store may have no complete bucket yet).
  if (week.points > 0) expect(week.lastLabel).toMatch(/^[A-Z][a-z]{2} \d\d:\d\d$/);

  await page.selectOption("#range", "live");
  await expect(page.locator("#charts")).toHaveAttribute("data-loaded-range", "live");
  const live = await chartState(page, "cpu");
  await expect
    .poll(async () => (await chartState(page, "cpu")).lastLabel, { timeout: 10_000 })
    .not.toEqual(live.lastLabel);
});

test("a 400-px phone screen has no horizontal scroll", async ({ page }, info) => {
  await page.setViewportSize({ width: 400, height: 800 });
  await page.goto("/");
  await waitForCharts(page);
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    const el = document.scrollingElement!;
    return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
  });
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  // Charts use the full width of the screen (minus padding).
  const box = await page.locator("#chart-cpu").boundingBox();
  expect(box!.width).toBeGreaterThan(300);
  await page.screenshot({ path: info.outputPath("dashboard-phone.png"), fullPage: true });
  await page.screenshot({ path: info.outputPath("dashboard-phone-first-screen.png") });
});

test.describe("dark theme", () => {
  test.use({ colorScheme: "dark" });

  test("follows the system and stays readable", async ({ page }, info) => {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto("/");
    await waitForCharts(page);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe("rgb(15, 20, 25)");
    await page.screenshot({ path: info.outputPath("dashboard-dark.png"), fullPage: true });
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the server-rendered page shows current values", async ({ page }, info) => {
    await page.goto("/");
    expect(await cardValue(page, "cpu")).toMatch(PERCENT);
    expect(await cardValue(page, "memory")).toMatch(PERCENT);
    expect(await cardValue(page, "load")).toMatch(/^\d+\.\d\d$/);
    await expect(page.locator("#card-load .card-sub")).toHaveText(/^5m \d+\.\d\d · 15m \d+\.\d\d$/);
    expect(await cardValue(page, "processes")).toMatch(/^\d/);
    expect(await page.locator("#cores li.core").count()).toBeGreaterThan(0);
    expect(await page.locator("#top-memory tbody tr").count()).toBeGreaterThan(0);
    await expect(page.locator("#as-of")).toContainText("UTC");
    // Empty chart tiles are hidden; the note says why.
    await expect(page.locator("#panel-cpu")).toBeHidden();
    // (getByText skips <noscript> content, so by class.)
    await expect(page.locator("p.note")).toContainText("Charts need JavaScript");
    await page.screenshot({ path: info.outputPath("dashboard-nojs.png"), fullPage: true });
  });
});
