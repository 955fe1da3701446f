import { test, expect, waitForCharts } from "./fixtures";
import type { BrowserContext, Page } from "@playwright/test";
import { writeFileSync } from "node:fs";

/**
 * What a visit to the dashboard costs: bytes on the wire (bodies and headers, as
 * Chromium's network layer counts them) and the time until the page is interactive
 * (hydrated, every chart drawn). A first visit starts with an empty cache; a repeat
 * visit is the same page opened again in the same browser. The figures are printed
 * (PAGE-WEIGHT ...) and written to test-results/page-weight.json for the README.
 * PAGE_WEIGHT_MEASURE_ONLY=1 skips the assertions, to measure an older build.
 */

const measureOnly = process.env.PAGE_WEIGHT_MEASURE_ONLY === "1";

type Visit = { bytes: number; requests: number; fromNetwork: string[]; interactiveMs: number };

async function visit(context: BrowserContext, page: Page): Promise<Visit> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  const urls = new Map<string, string>();
  const fromCache = new Set<string>();
  let bytes = 0;
  let requests = 0;
  const fromNetwork: string[] = [];
  cdp.on("Network.requestWillBeSent", (e: any) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.requestServedFromCache", (e: any) => fromCache.add(e.requestId));
  cdp.on("Network.responseReceived", (e: any) => {
    if (e.response.fromDiskCache || e.response.fromMemoryCache) fromCache.add(e.requestId);
  });
  cdp.on("Network.loadingFinished", (e: any) => {
    requests += 1;
    if (fromCache.has(e.requestId)) return;
    bytes += e.encodedDataLength;
    fromNetwork.push(new URL(urls.get(e.requestId) ?? "http://x/?").pathname);
  });
  await page.goto("/");
  await waitForCharts(page);
  const interactiveMs = await page.evaluate(() => performance.now());
  // Let the requests the page makes once hydrated finish (the live stream never does
  // and is not counted).
  await page.waitForTimeout(1500);
  await cdp.detach();
  return { bytes, requests, fromNetwork, interactiveMs: Math.round(interactiveMs) };
}

test("first and repeat visits: compressed, cached, and what they cost", async ({ browser, request }) => {
  await expect
    .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
    .toBe(200);
  const context = await browser.newContext();
  const errors: string[] = [];
  const page = await context.newPage();
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });

  // The static files the page loads: hashed names, compressed, cached for a year.
  const statics: { url: string; encoding?: string; cache?: string }[] = [];
  page.on("response", (res) => {
    const path = new URL(res.url()).pathname;
    if (path.startsWith("/pkg/") || path.startsWith("/vendor/")) {
      const h = res.headers();
      statics.push({ url: path, encoding: h["content-encoding"], cache: h["cache-control"] });
    }
  });
  const first = await visit(context, page);
  const repeat = await visit(context, page);
  const figures = { first, repeat };
  console.log(`PAGE-WEIGHT ${JSON.stringify({
    first: { bytes: first.bytes, requests: first.requests, interactiveMs: first.interactiveMs },
    repeat: { bytes: repeat.bytes, requests: repeat.requests, interactiveMs: repeat.interactiveMs },
  })}`);
  writeFileSync(test.info().outputPath("page-weight.json"), JSON.stringify(figures, null, 2));
  if (measureOnly) return;

  expect(statics.map((s) => s.url).some((u) => u.endsWith(".wasm"))).toBe(true);
  // ECharts is the analysis page's: the dashboard never downloads it.
  expect(statics.filter((s) => s.url.includes("echarts"))).toEqual([]);
  for (const s of statics) {
    expect(s.cache, s.url).toContain("immutable");
    expect(["br", "gzip"], s.url).toContain(s.encoding);
  }

  // Nothing static comes over the network again: only the page and its data.
  expect(repeat.fromNetwork.filter((p) => p.startsWith("/pkg/") || p.startsWith("/vendor/"))).toEqual([]);
  expect(repeat.bytes).toBeLessThan(first.bytes / 4);
  expect(errors).toEqual([]);
  await context.close();
});
