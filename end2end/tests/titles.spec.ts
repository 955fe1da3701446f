import { test, expect } from "@playwright/test";

// The server writes each page's <title> in the shell (app/src/lib.rs, page_title): as
// plain text in the tab, the host the page shows in it, and nothing else (no
// hydration marker, no markup from the URL).
test("each page's title names its host, as plain text", async ({ page, request }) => {
  const settings = await (await request.get("/api/settings")).json();
  const host: string = settings.host;
  await page.goto("/");
  await expect(page).toHaveTitle(host ? `${host} · Lookout` : "Lookout");
  await page.goto("/analysis?range=live");
  await expect(page).toHaveTitle(host ? `Analysis · ${host} · Lookout` : "Analysis · Lookout");
  await page.goto("/analysis?range=live&host=%3Cb%3Eweb");
  await expect(page).toHaveTitle("Analysis · <b>web · Lookout");
  await page.goto("/no-such-page");
  await expect(page).toHaveTitle("Not found · Lookout");
});
