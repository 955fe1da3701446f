import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// Runs against the release build (`RUSTC_BOOTSTRAP=1 cargo leptos build --release` at the
// workspace root). Each run gets a fresh store in a temp dir and samples every second.
const root = path.resolve(__dirname, "..");
const port = Number(process.env.LOOKOUT_E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const storeDir = mkdtempSync(path.join(tmpdir(), "lookout-e2e-"));
// A second server with access control on: an admin from the bootstrap variables
// (tests/auth.spec.ts). Same binary, its own store.
const AUTH_PORT = Number(process.env.LOOKOUT_E2E_AUTH_PORT ?? 3101);
const AUTH_ADMIN = { user: "e2e-admin", password: "e2e-admin-password" };
const authStoreDir = mkdtempSync(path.join(tmpdir(), "lookout-e2e-auth-"));
// The suite's own variables are not the servers': Playwright hands its environment to
// the servers it starts, and Lookout refuses a LOOKOUT_* name it does not know. Node
// leaves out a variable set to undefined.
const notForServers = {
  LOOKOUT_E2E_PORT: undefined,
  LOOKOUT_E2E_AUTH_PORT: undefined,
} as unknown as Record<string, string>;
const serverEnv = {
  ...notForServers,
  LOOKOUT_SAMPLER_INTERVAL: "1s",
  LOOKOUT_DASHBOARD_DEFAULT_REFRESH: "1s",
  LEPTOS_SITE_ROOT: "target/site",
  LEPTOS_SITE_PKG_DIR: "pkg",
  LEPTOS_OUTPUT_NAME: "lookout",
  RUST_LOG: process.env.RUST_LOG ?? "warn",
};

export default defineConfig({
  testDir: "./tests",
  // One server, one sampler: tests read the same live data, keep them sequential so
  // timings (pauses, waits for new samples) are not skewed by parallel pages on 2 cores.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results",
  use: {
    baseURL,
    browserName: "chromium",
    screenshot: "on",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      command: path.join(root, "target/release/lookout"),
      cwd: root,
      url: `${baseURL}/healthz`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        ...notForServers,
        LOOKOUT_SERVER_BIND: `127.0.0.1:${port}`,
        LOOKOUT_STORE_PATH: path.join(storeDir, "lookout.db"),
        LOOKOUT_DETECTOR_MODELS_DIR: path.join(storeDir, "models"),
        LOOKOUT_SAMPLER_INTERVAL: "1s",
        LOOKOUT_DASHBOARD_DEFAULT_REFRESH: "1s",
        LEPTOS_SITE_ROOT: "target/site",
        LEPTOS_SITE_PKG_DIR: "pkg",
        LEPTOS_OUTPUT_NAME: "lookout",
        RUST_LOG: process.env.RUST_LOG ?? "warn",
      },
    },
    {
      command: path.join(root, "target/release/lookout"),
      cwd: root,
      url: `http://127.0.0.1:${AUTH_PORT}/healthz`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        ...serverEnv,
        LOOKOUT_SERVER_BIND: `127.0.0.1:${AUTH_PORT}`,
        LOOKOUT_STORE_PATH: path.join(authStoreDir, "lookout.db"),
        LOOKOUT_DETECTOR_MODELS_DIR: path.join(authStoreDir, "models"),
        LOOKOUT_ADMIN_USER: AUTH_ADMIN.user,
        LOOKOUT_ADMIN_PASSWORD: AUTH_ADMIN.password,
      },
    },
  ],
});
