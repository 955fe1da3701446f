import { test as base, expect, Page } from "@playwright/test";

/** What a Chart.js chart holds right now, read in the page. */
export type ChartState = { labels: number; points: number; lastLabel: string | null; last: number | null };

/**
 * Every test fails on a console error or an uncaught page error: a hydration mismatch,
 * a wasm panic, a missing asset all show up there first.
 */
export const test = base.extend<{ errors: string[] }>({
  errors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
      });
      page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
      await use(errors);
      expect(errors, "console or page errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export const CHART_IDS = ["cpu", "memory", "load", "disk", "space", "network"];

/** Waits until the wasm has hydrated the page and drawn every chart at least once. */
export async function waitForCharts(page: Page): Promise<void> {
  await page.waitForFunction(
    (ids) =>
      ids.every((id) => {
        const canvas = document.getElementById(`chart-${id}`);
        const chart = canvas && (window as any).Chart?.getChart(canvas);
        return !!chart && chart.data.labels.length > 0;
      }),
    CHART_IDS,
    { timeout: 30_000 },
  );
}

export async function chartState(page: Page, id: string): Promise<ChartState> {
  return page.evaluate((id) => {
    const chart = (window as any).Chart.getChart(document.getElementById(`chart-${id}`));
    const labels: string[] = chart.data.labels;
    const data: (number | null)[] = chart.data.datasets[0].data;
    return {
      labels: labels.length,
      points: data.length,
      lastLabel: labels.length ? labels[labels.length - 1] : null,
      last: data.length ? data[data.length - 1] : null,
    };
  }, id);
}

/** The text of a value card, e.g. "12.3 %". */
export async function cardValue(page: Page, id: string): Promise<string> {
  return (await page.locator(`#card-${id} .card-value`).innerText()).trim();
}
