import { test, expect, waitForCharts } from "./fixtures";

/**
 * The Content-Security-Policy is on for every response: the dashboard must still
 * hydrate and draw its charts with it, and the browser must report no violation.
 * (The fixture already fails a test on any console error, which is where Chromium
 * reports a blocked script, style or connection.)
 */

/** Records every CSP violation the page reports, from before any page script runs. */
async function recordViolations(page: import("@playwright/test").Page) {
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
    });
  });
}

function expectSecurityHeaders(headers: Record<string, string>, what: string) {
  const csp = headers["content-security-policy"];
  expect(csp, `${what}: CSP`).toBeTruthy();
  for (const d of [
    "default-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ]) {
    expect(csp, `${what}: ${d}`).toContain(d);
  }
  const scriptSrc = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src "));
  expect(scriptSrc, what).toBeTruthy();
  expect(scriptSrc, what).not.toContain("'unsafe-inline'");
  expect(scriptSrc, what).not.toContain("'unsafe-eval'");
  expect(headers["x-content-type-options"], what).toBe("nosniff");
  expect(headers["x-frame-options"], what).toBe("DENY");
  expect(headers["referrer-policy"], what).toBe("no-referrer");
}

test.describe("security headers and CSP", () => {
  test("the dashboard hydrates and draws its charts under the CSP, with no violation", async ({ page }) => {
    await recordViolations(page);
    const response = await page.goto("/");
    expect(response!.status()).toBe(200);
    const headers = response!.headers();
    expectSecurityHeaders(headers, "page");
    const nonce = /'nonce-([^']+)'/.exec(headers["content-security-policy"])?.[1];
    expect(nonce, "the policy names a nonce").toBeTruthy();

    // The hydration bootstrap is an inline module script carrying that nonce.
    const html = await response!.text();
    const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)([^>]*)>/g)].map((m) => m[1]);
    expect(inline.length).toBeGreaterThan(0);
    for (const attrs of inline) expect(attrs).toContain(`nonce="${nonce}"`);

    // Hydrated: the wasm drew every chart (Chart.js from /vendor) and the live feed
    // (SSE, connect-src 'self') is delivering samples.
    await waitForCharts(page);
    await expect(page.locator("#as-of")).not.toHaveText("", { timeout: 15_000 });
    const first = await page.locator("#as-of").innerText();
    await expect.poll(() => page.locator("#as-of").innerText(), { timeout: 15_000 }).not.toBe(first);

    expect(await page.evaluate(() => (window as any).__csp)).toEqual([]);
  });

  test("an injected inline script is blocked and reported", async ({ page, errors }) => {
    await recordViolations(page);
    await page.goto("/");
    await waitForCharts(page);
    const ran = await page.evaluate(async () => {
      const s = document.createElement("script");
      s.textContent = "window.__injected = true;";
      document.body.appendChild(s);
      await new Promise((r) => setTimeout(r, 200));
      return (window as any).__injected === true;
    });
    expect(ran, "an inline script without the nonce must not run").toBe(false);
    const violations: string[] = await page.evaluate(() => (window as any).__csp);
    expect(violations.some((v) => v.startsWith("script-src"))).toBe(true);
    // Chromium logs the refusal as a console error: that one is expected here.
    const expected = errors.filter((e) => e.includes("Content Security Policy"));
    expect(expected.length).toBeGreaterThan(0);
    errors.splice(0, errors.length, ...errors.filter((e) => !e.includes("Content Security Policy")));
  });

  test("API answers, static files and 404s carry the headers too", async ({ request }) => {
    for (const path of ["/healthz", "/api/model", "/vendor/chart.umd.js", "/pkg/lookout.js", "/no/such/page"]) {
      const res = await request.get(path);
      expect(res.status(), path).toBe(path === "/no/such/page" ? 404 : 200);
      expectSecurityHeaders(res.headers(), path);
    }
    const big = "x".repeat(2 * 1024 * 1024);
    const res = await request.post("/api/silences", {
      data: big,
      headers: { "content-type": "application/json" },
    });
    expect(res.status()).toBe(413);
    expect((await res.json()).error).toContain("server.max_body");
  });

  test("the logs view lists recent server log lines, filtered by level", async ({ page }) => {
    await recordViolations(page);
    await page.goto("/");
    const panel = page.locator("#logs");
    await expect(panel).toHaveAttribute("data-loaded", "true", { timeout: 30_000 });
    const rows = page.locator("#logs-lines tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect(page.locator("#logs-lines")).toContainText("Lookout listening");
    const levels = await page.locator("#logs-lines tbody tr td:nth-child(2)").allInnerTexts();
    for (const l of levels) expect(["INFO", "WARN", "ERROR"]).toContain(l.trim());

    // Errors only: the start-up INFO line disappears.
    await page.locator("#logs-level").selectOption("error");
    await expect(page.locator("#logs")).not.toContainText("Lookout listening", { timeout: 15_000 });
    expect(await page.evaluate(() => (window as any).__csp)).toEqual([]);
  });
});
