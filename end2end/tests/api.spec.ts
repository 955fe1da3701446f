import { test, expect } from "./fixtures";

test.describe("JSON API", () => {
  test("GET /metrics returns the latest snapshot as JSON", async ({ request }) => {
    // The first sample lands about a second after start-up; until then it is a 503.
    await expect
      .poll(async () => (await request.get("/metrics")).status(), { timeout: 15_000 })
      .toBe(200);
    const res = await request.get("/metrics");
    expect(res.headers()["content-type"]).toContain("application/json");
    const m = await res.json();

    // The seed's top-level fields.
    for (const key of ["cpu_usage", "memory_usage", "load_average"]) {
      expect(typeof m[key], key).toBe("number");
    }
    expect(m.cpu_usage).toBeGreaterThanOrEqual(0);
    expect(m.cpu_usage).toBeLessThanOrEqual(100);
    expect(m.memory_usage).toBeGreaterThan(0);
    expect(m.memory_usage).toBeLessThanOrEqual(100);

    // And the rest of the snapshot.
    expect(typeof m.host).toBe("string");
    expect(m.timestamp).toBeGreaterThan(Date.now() - 60_000);
    expect(Array.isArray(m.cpu.per_core)).toBe(true);
    expect(m.cpu.per_core.length).toBeGreaterThan(0);
    expect(m.memory.total_bytes).toBeGreaterThan(0);
    for (const k of ["one", "five", "fifteen"]) expect(typeof m.load[k]).toBe("number");
    expect(typeof m.disk.read_bytes_per_sec).toBe("number");
    expect(typeof m.disk.write_bytes_per_sec).toBe("number");
    expect(typeof m.network.rx_bytes_per_sec).toBe("number");
    expect(typeof m.network.tx_bytes_per_sec).toBe("number");
    expect(m.processes.count).toBeGreaterThan(0);
    expect(Array.isArray(m.processes.top_cpu)).toBe(true);
    expect(Array.isArray(m.processes.top_memory)).toBe(true);
    expect("anomaly_score" in m).toBe(true);
  });

  test("GET /api/series serves chart history", async ({ request }) => {
    const to = Date.now();
    const res = await request.get(
      `/api/series?metrics=cpu_usage,load_1&from=${to - 15 * 60_000}&to=${to}&points=300`,
    );
    expect(res.status()).toBe(200);
    const h = await res.json();
    expect(h.series.map((s: any) => s.metric)).toEqual(["cpu_usage", "load_1"]);
    for (const s of h.series) expect(Array.isArray(s.points)).toBe(true);
  });

  test("GET /api/settings gives the dashboard defaults", async ({ request }) => {
    const res = await request.get("/api/settings");
    expect(res.status()).toBe(200);
    const s = await res.json();
    expect(s.default_refresh_secs).toBe(1);
    expect(s.sample_interval_secs).toBeCloseTo(1, 5);
  });
});
