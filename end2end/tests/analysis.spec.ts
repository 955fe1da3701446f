import { test, expect, waitForCharts } from "./fixtures";
import type { Page } from "@playwright/test";

/**
 * The analysis page (/analysis, issue 14): every ECharts chart draws under the CSP with
 * no violation, the charts follow the range control, a correlation cell opens both
 * series overlaid, and without JavaScript each chart's table is there and readable at
 * 400 px. (The fixture fails any test on a console or page error.)
 */

/** Charts drawn from the page's data (the overlay opens on a click). */
const CHARTS = ["chart-cores", "chart-rhythm-metric", "chart-rhythm-score", "chart-correlation", "chart-timeline"];
/** Charts that have data points once the sampler has run some seconds (the correlation
 * needs 3 buckets where two metrics vary: on the 15-minute range, 3-second buckets). */
const WITH_DATA = ["chart-cores", "chart-rhythm-metric", "chart-correlation"];

async function recordViolations(page: Page) {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
    });
  });
}

/** The number of data items of a chart's first series with data, or -1 without a chart. */
async function items(page: Page, id: string): Promise<number> {
  return page.evaluate((id) => {
    const el = document.getElementById(id);
    const chart = el && (window as any).echarts?.getInstanceByDom(el);
    if (!chart) return -1;
    const series: any[] = chart.getOption().series ?? [];
    return Math.max(0, ...series.map((s) => (s.data ?? []).length));
  }, id);
}

/** Whether the chart's canvas has any painted (non-transparent) pixel. */
async function painted(page: Page, id: string): Promise<boolean> {
  return page.evaluate((id) => {
    const canvas = document.querySelector(`#${id} canvas`) as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
    const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
    return false;
  }, id);
}

async function waitForAnalysis(page: Page, withData: readonly string[] = WITH_DATA) {
  for (const id of CHARTS) {
    await expect.poll(() => items(page, id), { timeout: 30_000, message: id }).toBeGreaterThanOrEqual(0);
  }
  for (const id of withData) {
    await expect.poll(() => items(page, id), { timeout: 45_000, message: id }).toBeGreaterThan(0);
  }
}

test.beforeEach(async ({ request }) => {
  await expect
    .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
    .toBe(200);
  // Enough samples that the 15-minute range has correlations (3 buckets of 3 s where
  // two metrics vary): the page loads its data once per range.
  await expect
    .poll(
      async () => {
        const r = await request.get("/api/analysis/correlation?metric=cpu_usage,memory_usage&from=-15m&points=300");
        return (await r.json()).cells?.[0]?.[1]?.r ?? null;
      },
      { timeout: 45_000 },
    )
    .not.toBeNull();
});

test("every chart draws under the CSP with no violation", async ({ page }, info) => {
  await recordViolations(page);
  const response = await page.goto("/analysis?range=live");
  expect(response!.status()).toBe(200);
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("'unsafe-eval'");
  await waitForAnalysis(page);
  for (const id of CHARTS) {
    expect(await painted(page, id), `${id} painted`).toBe(true);
    const box = await page.locator(`#${id}`).boundingBox();
    expect(box!.height, id).toBeGreaterThan(100);
  }
  // The tables fold away once the charts are drawn.
  await expect(page.locator("#cores-heatmap details.table-fallback")).not.toHaveAttribute("open", "");
  expect(await page.evaluate(() => (window as any).__csp)).toEqual([]);
  await page.screenshot({ path: info.outputPath("analysis.png"), fullPage: true });
});

test("the charts follow the range control", async ({ page }) => {
  await page.goto("/analysis?range=live");
  await waitForAnalysis(page);
  const bucketsLive = await page.evaluate(() =>
    (window as any).echarts.getInstanceByDom(document.getElementById("chart-cores")).getOption().xAxis[0].data.length,
  );
  const asked: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/api/analysis/") || u.pathname === "/api/anomalies") asked.push(u.pathname + u.search);
  });
  const before = Date.now();
  await page.locator("#range").selectOption("24h");
  for (const path of ["/api/analysis/cores", "/api/analysis/correlation", "/api/analysis/rhythm", "/api/anomalies"]) {
    await expect.poll(() => asked.some((a) => a.startsWith(path)), { message: path }).toBe(true);
  }
  // The new queries cover 24 hours.
  const cores = new URL("http://x" + asked.find((a) => a.startsWith("/api/analysis/cores"))!);
  const span = Number(cores.searchParams.get("to")) - Number(cores.searchParams.get("from"));
  expect(span).toBe(24 * 3600 * 1000);
  expect(Number(cores.searchParams.get("to"))).toBeGreaterThanOrEqual(before - 1000);
  // And the heatmap was redrawn for them: 30-minute buckets over a day (49 labels)
  // instead of 15-second ones over 15 minutes (61).
  await expect
    .poll(() =>
      page.evaluate(
        () => (window as any).echarts.getInstanceByDom(document.getElementById("chart-cores")).getOption().xAxis[0].data.length,
      ),
    )
    .not.toBe(bucketsLive);
});

test("the anomaly timeline draws each event as a bar with its explanation", async ({ page }) => {
  // A fresh test server has no anomaly events yet: the browser's reload of the range's
  // events gets two made-up ones (the rest of the page is the real server's).
  const now = Date.now();
  const event = (id: number, start: number, end: number | null, metric: string) => ({
    id,
    host: "e2e",
    start,
    end,
    peak_score: 0.9,
    peak_at: start,
    explanation: {
      metrics: [{ metric, value: 97, normal_low: 8, normal_high: 22, contribution: 0.8 }],
      top_cpu: [],
      top_memory: [],
    },
    expected: false,
  });
  await page.route("**/api/anomalies?*", (route) =>
    route.fulfill({
      contentType: "application/json",
      body: JSON.stringify({
        from: now - 3600_000,
        to: now,
        events: [event(7, now - 1800_000, now - 1500_000, "cpu_usage"), event(8, now - 600_000, null, "memory_usage")],
      }),
    }),
  );
  await page.goto("/analysis?range=live");
  await waitForAnalysis(page);
  await page.locator("#range").selectOption("1h");
  await expect.poll(() => items(page, "chart-timeline")).toBe(2);
  const bars = await page.evaluate(() => {
    const o = (window as any).echarts.getInstanceByDom(document.getElementById("chart-timeline")).getOption();
    return o.series[1].data.map((d: any) => ({ name: d.name, color: d.itemStyle.color }));
  });
  expect(bars[0].name).toContain("cpu_usage 97.0 %");
  expect(bars[0].color).not.toBe(bars[1].color);
  expect(await painted(page, "chart-timeline")).toBe(true);
  // The table lists them with links to the events.
  await expect(page.locator("#timeline-table a").first()).toHaveAttribute("href", /\/api\/anomalies\?from=/);
});

test("clicking a correlation cell opens both series overlaid", async ({ page }) => {
  await page.goto("/analysis?range=live");
  await waitForAnalysis(page);
  // An off-diagonal cell (two different metrics), at its pixel position.
  const target = await page.evaluate(() => {
    const chart = (window as any).echarts.getInstanceByDom(document.getElementById("chart-correlation"));
    const data: number[][] = chart.getOption().series[0].data;
    const cell = data.find((d) => d[0] !== d[1]);
    return cell ? chart.convertToPixel({ seriesIndex: 0 }, [cell[0], cell[1]]) : null;
  });
  expect(target, "an off-diagonal cell with an r").not.toBeNull();
  // Below the fold: mouse coordinates are the viewport's.
  await page.locator("#chart-correlation").scrollIntoViewIfNeeded();
  const box = (await page.locator("#chart-correlation").boundingBox())!;
  await page.mouse.click(box.x + target[0], box.y + target[1]);
  await expect(page.locator("#correlation-overlay")).toBeVisible();
  await expect.poll(() => items(page, "chart-overlay"), { timeout: 15_000 }).toBeGreaterThan(0);
  const series = await page.evaluate(
    () => (window as any).echarts.getInstanceByDom(document.getElementById("chart-overlay")).getOption().series.length,
  );
  expect(series).toBe(2);
  expect(await painted(page, "chart-overlay")).toBe(true);
  await page.locator("#overlay-close").click();
  await expect(page.locator("#correlation-overlay")).toHaveCount(0);
});

test("the dashboard's link opens the page on its range, ECharts loaded on the way", async ({ page }) => {
  await page.goto("/");
  await waitForCharts(page);
  expect(await page.evaluate(() => typeof (window as any).echarts)).toBe("undefined");
  await page.locator("#range").selectOption("1h");
  await page.locator("#nav-analysis").click();
  await expect(page).toHaveURL(/\/analysis\?range=1h/);
  await expect(page.locator("#range")).toHaveValue("1h");
  // Every chart is made (ECharts came with the page); their data is the other tests'
  // business: this one runs early, when an hour's range holds too few buckets for a
  // correlation.
  await waitForAnalysis(page, []);
  expect(await page.evaluate(() => typeof (window as any).echarts)).toBe("object");
});

test("the metric picker chooses the matrix's metrics and keeps them in the URL", async ({ page }) => {
  await page.goto("/analysis?range=live");
  await waitForAnalysis(page);
  const asked: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/analysis/correlation") asked.push(u.searchParams.get("metric") ?? "");
  });
  const axis = () =>
    page.evaluate(
      () => (window as any).echarts.getInstanceByDom(document.getElementById("chart-correlation")).getOption().xAxis[0].data,
    );
  expect((await axis()).length).toBe(8);
  // Take five out: cpu_usage, memory_usage and load_1 are left; add load_5.
  for (const m of ["disk_read_bytes_per_sec", "disk_write_bytes_per_sec", "net_rx_bytes_per_sec", "net_tx_bytes_per_sec", "anomaly_score"]) {
    await page.locator(`#correlation-picker input[value="${m}"]`).uncheck();
  }
  await page.locator('#correlation-picker input[value="load_5"]').check();
  await expect.poll(axis).toEqual(["cpu_usage", "memory_usage", "load_1", "load_5"]);
  expect(asked[asked.length - 1]).toBe("cpu_usage,memory_usage,load_1,load_5");
  await expect(page).toHaveURL(/compare=cpu_usage%2Cmemory_usage%2Cload_1%2Cload_5/);
  // A reload keeps the choice.
  await page.reload();
  await waitForAnalysis(page, []);
  await expect.poll(axis).toEqual(["cpu_usage", "memory_usage", "load_1", "load_5"]);
  await expect(page.locator('#correlation-picker input[value="load_5"]')).toBeChecked();
  await expect(page.locator('#correlation-picker input[value="anomaly_score"]')).not.toBeChecked();
  // The API refuses an unknown metric, naming the parameter.
  const bad = await page.request.get("/api/analysis/correlation?metric=cpu_usage,bogus");
  expect(bad.status()).toBe(400);
  expect((await bad.json()).param).toBe("metric");
});

test("the page follows the URL's host in every call", async ({ page }) => {
  await page.goto("/analysis?range=live");
  const host = (await page.locator("#host").innerText()).trim();
  const asked: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/api/analysis/") || u.pathname === "/api/anomalies") asked.push(u.pathname + u.search);
  });
  await page.goto(`/analysis?range=live&host=${encodeURIComponent(host)}`);
  await waitForAnalysis(page);
  await page.locator("#range").selectOption("1h");
  for (const path of ["/api/analysis/cores", "/api/analysis/correlation", "/api/analysis/rhythm", "/api/anomalies"]) {
    await expect.poll(() => asked.filter((a) => a.startsWith(path)).length, { message: path }).toBeGreaterThan(0);
  }
  for (const a of asked) expect(new URL("http://x" + a).searchParams.get("host"), a).toBe(host);
  await expect(page).toHaveURL(new RegExp(`host=${encodeURIComponent(host)}`));
  for (const path of ["/api/analysis/cores", "/api/analysis/rhythm", "/api/analysis/correlation?metric=cpu_usage,load_1", "/api/analysis/overlay?metric=cpu_usage", "/api/forecast", "/api/anomalies"]) {
    const r = await page.request.get(path + (path.includes("?") ? "&" : "?") + "host=no-such-host");
    expect(r.status(), path).toBe(400);
    expect((await r.json()).param, path).toBe("host");
  }
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("every chart's table is there and readable at 400 px", async ({ page }, info) => {
    await page.setViewportSize({ width: 400, height: 800 });
    await page.goto("/analysis?range=live&metric=load_1");
    expect(await page.locator("#cores-table tbody tr").count()).toBeGreaterThan(0);
    await expect(page.locator("#cores-table th").nth(1)).toHaveText("cpu0");
    await expect(page.locator("table.rhythm-table")).toHaveCount(2);
    await expect(page.locator("table.rhythm-table").first()).toHaveAttribute("data-metric", "load_1");
    await expect(page.locator("#correlation-table tbody tr")).toHaveCount(8);
    await expect(page.locator("#correlation-table")).toContainText("n=");
    await expect(page.locator("#timeline-empty, #timeline-table")).toHaveCount(1);
    // Times are UTC, and the tables scroll inside their panels: the page does not.
    await expect(page.locator("#cores-table tbody th").first()).toContainText("UTC");
    const { scrollWidth, clientWidth } = await page.evaluate(() => {
      const el = document.scrollingElement!;
      return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
    });
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    // The form picks the range without scripts.
    await page.locator("#range").selectOption("1h");
    // (The range form's own button: the correlation's metric picker has one too.)
    await page.locator("form:has(#range) button.apply").click();
    await expect(page).toHaveURL(/range=1h/);
    await page.screenshot({ path: info.outputPath("analysis-nojs-phone.png"), fullPage: true });
  });
  test("a correlation cell opens both series as a table, readable at 400 px", async ({ page, request }, info) => {
    await page.setViewportSize({ width: 400, height: 800 });
    await page.goto("/analysis?range=live&compare=cpu_usage,memory_usage,load_1");
    await expect(page.locator("#correlation-table tbody tr")).toHaveCount(3);
    // Row memory_usage, column cpu_usage.
    const link = page.locator("#correlation-table tbody tr").nth(1).locator("td").first().locator("a");
    await link.click();
    await expect(page).toHaveURL(/pair=memory_usage%2Ccpu_usage/);
    await expect(page).toHaveURL(/compare=cpu_usage%2Cmemory_usage%2Cload_1/);
    await expect(page.locator("#overlay h2")).toHaveText("memory_usage and cpu_usage");
    await expect(page.locator("#overlay-table thead th")).toHaveText(["time", "memory_usage", "cpu_usage"]);
    const rows = await page.locator("#overlay-table tbody tr").count();
    // The same buckets the overlay chart draws (the API's series, a bucket or two apart
    // as the 15-minute window moves on between the two reads).
    const api = await (await request.get("/api/analysis/overlay?metric=memory_usage,cpu_usage&from=-15m&points=300")).json();
    expect(Math.abs(rows - api.series[0].points.length)).toBeLessThanOrEqual(3);
    expect(rows).toBeGreaterThan(2);
    await expect(page.locator("#overlay-table tbody th").first()).toContainText("UTC");
    await expect(page.locator("#overlay-table tbody td").first()).toHaveText(/%$/);
    const { scrollWidth, clientWidth } = await page.evaluate(() => {
      const el = document.scrollingElement!;
      return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
    });
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await page.locator("#overlay").screenshot({ path: info.outputPath("overlay-nojs-phone.png") });
    // The picker's button applies a new choice without scripts.
    await page.locator('#correlation-picker input[value="load_1"]').uncheck();
    await page.locator("#correlation-picker button.apply").click();
    await expect(page.locator("#correlation-table tbody tr")).toHaveCount(2);
    await expect(page).toHaveURL(/compare=cpu_usage&compare=memory_usage/);
  });

  test("an unknown metric or host reads as the API's refusal", async ({ page }) => {
    await page.goto("/analysis?range=live&compare=cpu_usage,bogus");
    await expect(page.locator("#correlation .error")).toContainText("bogus");
    await page.goto("/analysis?range=live&host=no-such-host");
    await expect(page.locator("#cores-heatmap .error")).toContainText("unknown host");
    await expect(page.locator("#correlation .error")).toContainText("unknown host");
  });
});
