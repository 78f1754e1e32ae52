import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../support/csv";
import { monitoringFixture } from "../support/monitoring-fixture";
import { migrate, removeState, startDevServer, type DevServer } from "./dev-server";

// Its own wrangler dev, whose local D1 is seeded with endpoint rows and packed rollups before it starts.
let server: DevServer;
const now = Date.now();
const fx = monitoringFixture(now);
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  const persistDir = mkdtempSync(join(tmpdir(), "edge-ticker-monitoring-"));
  migrate(persistDir);
  const file = join(persistDir, "seed.sql");
  writeFileSync(file, fx.sql.map((s) => `${s};`).join("\n"));
  const seeded = spawnSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", persistDir, "--file", file], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    encoding: "utf8",
  });
  if (seeded.status !== 0) throw new Error(`seeding D1 failed: ${seeded.stderr || seeded.stdout}`);
  server = await startDevServer({ persistDir });
});

afterAll(async () => {
  if (!server) return;
  await server.stop();
  removeState(server.persistDir);
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}/api${path}`, { headers: { authorization: `Bearer ${server.token}`, ...headers } });
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${server.url}/api${path}`, { method: "POST", headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
};

describe("seed 002 monitoring surfaces on a real wrangler dev", () => {
  it("Grafana answers seed 002's query bodies and Grafana's own", async () => {
    const sample = await post("/grafana/query", { target: "availability", endpointId: "ep-123", refId: "A" });
    expect(sample.status).toBe(200);
    expect(sample.json[0]).toMatchObject({ target: 'availability{endpointId="ep-123"}', refId: "A" });
    const range = { from: iso(fx.m1), to: iso(fx.m1 + 2 * 60_000 - 1) };
    const res = await post("/grafana/query", {
      range,
      targets: [
        { target: "availability", endpointId: "ep-123", interval: "1m", refId: "A" },
        { target: "response_time", endpointId: "ep-123", aggregation: "avg", interval: "1m", refId: "B" },
        { target: "status_count", status: "online", refId: "C" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.map((s: any) => s.datapoints.map((p: any) => p[0]))).toEqual([[100, 50], [3, 6], [1]]);
    expect((await post("/grafana/query", { range, targets: [{ target: "uptime" }] })).status).toBe(400);
  });

  it("/api/metrics serves the job metrics and pulse_* families, and promtool accepts it", async () => {
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("# TYPE tickerq_jobs_total counter");
    expect(text).toContain('pulse_endpoint_status{endpoint="router-01",group="network"} 1');
    expect(text).toContain('pulse_checks_total{endpoint="router-01",status="success"} 8640');
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(promtool.error, "promtool must be installed (CI installs Debian's prometheus package)").toBeUndefined();
    expect(promtool.status, `${promtool.stdout}${promtool.stderr}`).toBe(0);
    // Seed 002's SDKs log in with a user name and password: the API key (here ADMIN_TOKEN) as the password.
    const basic = await fetch(`${server.url}/api/metrics`, { headers: { authorization: `Basic ${Buffer.from(`admin:${server.token}`).toString("base64")}` } });
    expect(basic.status).toBe(200);
    expect((await fetch(`${server.url}/api/metrics`)).status).toBe(401);
  });

  it("the history export round-trips: CSV and JSON agree for raw, hourly and daily", async () => {
    const periods = {
      raw: `startTime=${iso(fx.m1)}&endTime=${iso(fx.m2 + 60_000 - 1)}`,
      hourly: `startTime=${iso(fx.base)}&endTime=${iso(fx.base + 2 * 86_400_000 - 1)}`,
      daily: `startTime=${iso(fx.base)}&endTime=${iso(fx.base + 2 * 86_400_000 - 1)}`,
    };
    const counts = { raw: 6, hourly: 4, daily: 3 };
    for (const [bucket, period] of Object.entries(periods) as [keyof typeof periods, string][]) {
      const json = (await (await get(`/export/history?format=json&bucket=${bucket}&${period}`)).json()) as Record<string, unknown>[];
      const csvRes = await get(`/export/history?format=csv&bucket=${bucket}&${period}`);
      expect(csvRes.headers.get("content-type")).toMatch(/^text\/csv/);
      const [header, ...rows] = parseCsv(await csvRes.text());
      expect(json).toHaveLength(counts[bucket]);
      expect(rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))).toEqual(
        json.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v == null ? "" : String(v)]))),
      );
    }
    expect((await get("/export/history?bucket=weekly")).status).toBe(400);
  });
});
