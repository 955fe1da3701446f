import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";

// The second web server of playwright.config.ts: access control on, with an admin
// created at first start from LOOKOUT_ADMIN_USER / LOOKOUT_ADMIN_PASSWORD.
const BASE = `http://127.0.0.1:${Number(process.env.LOOKOUT_E2E_AUTH_PORT ?? 3101)}`;
const ADMIN = { user: "e2e-admin", password: "e2e-admin-password" };
const VIEWER = { user: "e2e-viewer", password: "e2e-viewer-password" };

async function signIn(page: Page, who: { user: string; password: string }) {
  await page.locator("#username").fill(who.user);
  await page.locator("#password").fill(who.password);
  await page.locator("#sign-in").click();
}

test.describe.serial("access control", () => {
  test("an anonymous visit lands on the login page, which works without scripts", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${BASE}/dashboard`);
    await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
    await expect(page.locator("#login-form")).toBeVisible();
    // The API says 401, with nothing but the reason.
    const res = await page.request.get(`${BASE}/api/model`);
    expect(res.status()).toBe(401);
    expect(Object.keys(await res.json())).toEqual(["error"]);
    // Signing in is a plain form post: back to where the visit started.
    await signIn(page, ADMIN);
    await expect(page).toHaveURL(`${BASE}/dashboard`);
    await expect(page.locator("#user-name")).toHaveText(ADMIN.user);
    await context.close();
  });

  test("a wrong password shows an error and no session", async ({ page }) => {
    await page.goto(`${BASE}/`);
    await expect(page).toHaveURL(/\/login/);
    await signIn(page, { user: ADMIN.user, password: "not the password" });
    await expect(page).toHaveURL(/\/login\?error=invalid/);
    await expect(page.locator("#login-error")).toContainText("Wrong user name or password");
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "lookout_session")).toBeUndefined();
  });

  test("an admin signs in, adds a viewer and a token (shown once), signs out", async ({ page }) => {
    await page.goto(`${BASE}/login`);
    await signIn(page, ADMIN);
    await expect(page).toHaveURL(`${BASE}/`);
    await expect(page.locator("#user-role")).toHaveText("admin");
    // Admin controls are there for an admin.
    await expect(page.locator("#train")).toBeVisible();
    const session = (await page.context().cookies()).find((c) => c.name === "lookout_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");

    await page.locator("#admin-link").click();
    await expect(page).toHaveURL(`${BASE}/admin`);
    await expect(page.locator("#users-table")).toContainText(ADMIN.user);
    const userForm = page.locator("#user-form");
    await userForm.locator('input[name="name"]').fill(VIEWER.user);
    await userForm.locator('select[name="role"]').selectOption("viewer");
    await userForm.locator('input[name="password"]').fill(VIEWER.password);
    await userForm.locator('button[type="submit"]').click();
    await expect(page.locator(`#users-table tr[data-user="${VIEWER.user}"]`)).toContainText("viewer");

    const tokenForm = page.locator("#token-form");
    await tokenForm.locator('input[name="name"]').fill("e2e-scraper");
    await tokenForm.locator('button[type="submit"]').click();
    const token = (await page.locator("#new-token").innerText()).trim();
    expect(token).toMatch(/^lk_[0-9a-f]{64}$/);
    // The token reads /metrics; the list never shows it again.
    await expect
      .poll(async () => (await page.request.get(`${BASE}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status())
      .toBe(200);
    await page.reload();
    await expect(page.locator('#tokens-table tr[data-token="e2e-scraper"]')).toBeVisible();
    expect(await page.locator("body").innerText()).not.toContain(token);
    // Who did what is in the audit log.
    await expect(page.locator("#audit-table")).toContainText("user.add");
    await expect(page.locator("#audit-table")).toContainText("token.create");

    await page.locator("#logout").click();
    await expect(page).toHaveURL(`${BASE}/login`);
    await page.goto(`${BASE}/admin`);
    await expect(page).toHaveURL(/\/login\?next=\/admin$/);
  });

  test("a viewer sees the dashboard without admin controls, and signs out", async ({ page }) => {
    await page.goto(`${BASE}/login`);
    await signIn(page, VIEWER);
    await expect(page).toHaveURL(`${BASE}/`);
    await expect(page.locator("#user-name")).toHaveText(VIEWER.user);
    await expect(page.locator("#user-role")).toHaveText("viewer");
    // The dashboard reads (cards, model state) ...
    await expect(page.locator("#model-state")).not.toBeEmpty();
    // ... but offers nothing an admin alone may do.
    await expect(page.locator("#admin-link")).toHaveCount(0);
    // (not rendered at all, not merely hidden by a style)
    await expect(page.locator("#rules-table")).toBeVisible();
    await expect(page.locator("#train")).toHaveCount(0);
    await expect(page.locator("#sensitivity")).toBeDisabled();
    await expect(page.locator(".mark-expected")).toHaveCount(0);
    await expect(page.locator("#silence-form")).toHaveCount(0);
    await expect(page.locator("#rule-form")).toHaveCount(0);
    await expect(page.locator(".send-test, .end-silence, .rule-edit, .rule-delete")).toHaveCount(0);
    await expect(page.locator("input.rule-enabled:not([disabled])")).toHaveCount(0);
    // And the server refuses it anyway, with no data.
    const csrf = (await page.context().cookies()).find((c) => c.name === "lookout_csrf")?.value ?? "";
    const train = await page.request.post(`${BASE}/api/model/train`, { headers: { "x-csrf-token": csrf } });
    expect(train.status()).toBe(403);
    expect(Object.keys(await train.json())).toEqual(["error"]);
    expect((await page.request.get(`${BASE}/api/users`)).status()).toBe(403);

    await page.locator("#logout").click();
    await expect(page).toHaveURL(`${BASE}/login`);
    expect((await page.request.get(`${BASE}/api/model`)).status()).toBe(401);
  });
});
