import { env, exports } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { beforeAll, describe, expect, it } from "vitest";
import { requestJson, type CallInit } from "./support/client-core";
import { parseCsv } from "./support/csv";
import { monitoringFixture } from "./support/monitoring-fixture";
import dashboard from "../grafana/network-overview.json";
import { ADMIN, BASE } from "./helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");
/** A call to seed 002's root /api paths. */
const call = (path: string, init: CallInit = {}) => requestJson((req) => exports.default.fetch(req), `${root}/api${path}`, ADMIN, init);
const text = async (path: string, token: string | null = ADMIN) => {
  const res = await exports.default.fetch(new Request(`${root}/api${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }));
  return { status: res.status, headers: res.headers, text: await res.text() };
};

const now = Date.now();
const fx = monitoringFixture(now);
const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

beforeAll(async () => {
  await env.DB.batch(fx.sql.map((s) => env.DB.prepare(s)));
});

const query = (targets: unknown[], from: number, to: number, extra: Record<string, unknown> = {}) =>
  call("/grafana/query", { body: { range: { from: iso(from), to: iso(to) }, targets, ...extra } });
const points = (series: any) => series.datapoints.map(([v]: [number | null, number]) => v);

describe("seed 002 Grafana datasource at /api/grafana", () => {
  it("answers the protocol's discovery calls", async () => {
    expect((await call("/grafana")).json).toMatchObject({ status: "ok" });
    expect((await call("/grafana/search", { body: {} })).json).toEqual(["availability", "response_time", "status_count"]);
    expect((await call("/grafana/search", { body: { target: "endpoints" } })).json).toEqual(
      expect.arrayContaining([{ text: "router-01", value: "ep-123" }, { text: "server-01", value: "ep-456" }]),
    );
    const metrics = (await call("/grafana/metrics", { body: {} })).json;
    expect(metrics.map((m: any) => m.value)).toEqual(["availability", "response_time", "status_count"]);
    expect((await call("/grafana/metric-payload-options", { body: { metric: "response_time", name: "aggregation" } })).json.map((o: any) => o.value)).toEqual(["avg", "min", "max", "p95"]);
    expect((await call("/grafana/variable", { body: {} })).json).toContainEqual({ __text: "server-01", __value: "ep-456" });
  });

  it("availability per minute from the raw checks, of all endpoints or one", async () => {
    const range = [fx.m1, fx.m2 + MINUTE - 1] as const;
    const [all, one] = (await query([{ target: "availability", interval: "1m", refId: "A" }, { target: "availability", endpointId: "ep-123", interval: "1m", refId: "B" }], ...range)).json;
    expect(all).toEqual({ target: "availability", refId: "A", datapoints: [[75, fx.m1], [50, fx.m2]] });
    expect(one).toEqual({ target: 'availability{endpointId="ep-123"}', refId: "B", datapoints: [[100, fx.m1], [50, fx.m2]] });
    const wide = (await query([{ target: "availability", interval: "5m" }], ...range)).json[0];
    expect(points(wide)).toEqual([66.667]);
  });

  it("response time with each aggregation, the seed's fields on the target or in the plugin's payload", async () => {
    const range = [fx.m1, fx.m2 + MINUTE - 1] as const;
    const res = (
      await query(
        [
          { target: "response_time", endpointId: "ep-123", aggregation: "avg", interval: "1m" },
          { target: "response_time", payload: { endpointId: "ep-123", aggregation: "p95", interval: "1m" } },
          { target: "response_time", aggregation: "max", interval: "1m" },
          { target: "response_time", aggregation: "min", interval: "1m" },
          { target: "response_time", endpointId: "ep-456", interval: "1m" },
        ],
        ...range,
      )
    ).json;
    expect(res.map(points)).toEqual([[3, 6], [4, 6], [10, 6], [2, 6], [10, null]]);
    expect(res[0].target).toBe('response_time{endpointId="ep-123",aggregation="avg"}');
  });

  it("long ranges come from the hour rollups", async () => {
    const [availability, p95] = (await query([{ target: "availability", interval: "1h" }, { target: "response_time", aggregation: "p95", endpointId: "ep-123" }], fx.base, fx.base + 2 * DAY - 1)).json;
    expect(availability.datapoints).toHaveLength(48);
    expect(availability.datapoints[10]).toEqual([66.667, fx.base + 10 * HOUR]);
    expect(availability.datapoints[11]).toEqual([100, fx.base + 11 * HOUR]);
    expect(availability.datapoints[27]).toEqual([100, fx.base + 27 * HOUR]);
    expect(availability.datapoints[12]).toEqual([null, fx.base + 12 * HOUR]);
    // The 95th percentile of 40 × 1 ms, 40 × 2 ms and 40 × 3 ms, read from the histogram's (2, 5] bucket.
    expect(p95.datapoints[11][0]).toBe(3);
  });

  it("status_count: enabled endpoints in a status now", async () => {
    const res = (await query([{ target: "status_count", status: "online" }, { target: "status_count", status: "offline" }, { target: "status_count", status: "online", endpointId: "ep-456" }], now - HOUR, now)).json;
    expect(res.map((s: any) => s.datapoints[0][0])).toEqual([1, 1, 0]);
  });

  it("seed 002's sample query bodies work verbatim", async () => {
    const availability = await call("/grafana/query", { body: { target: "availability", endpointId: "ep-123", refId: "A" } });
    expect(availability.status).toBe(200);
    expect(availability.json).toEqual([{ target: 'availability{endpointId="ep-123"}', refId: "A", datapoints: expect.any(Array) }]);
    const rt = await call("/grafana/query", { body: { target: "response_time", endpointId: "ep-123", aggregation: "avg", interval: "5m", refId: "B" } });
    expect(rt.status).toBe(200);
    // The last 6 hours in 5-minute slots, the first and last ones partial.
    expect(rt.json[0].datapoints.length).toBeGreaterThanOrEqual(72);
    expect(rt.json[0].datapoints.length).toBeLessThanOrEqual(73);
    const panel = await call("/grafana/query", { body: { range: { from: iso(now - HOUR), to: iso(now) }, targets: [{ target: "status_count", status: "online" }] } });
    expect(panel.json[0].datapoints[0][0]).toBe(1);
  });

  it("the shipped Network Overview dashboard's panels query as they are, also with the payload as JSON text", async () => {
    expect(dashboard.title).toBe("Network Monitoring");
    expect(dashboard.panels.map((p) => [p.title, p.targets[0].target])).toEqual([["Endpoint Status", "status_count"], ["Response Times", "response_time"]]);
    const [status, times] = (await query(dashboard.panels.map((p) => p.targets[0]), fx.m1, fx.m2 + MINUTE - 1)).json;
    expect(status.datapoints[0][0]).toBe(1);
    expect(points(times)).toEqual([16 / 3, 6].map((v) => Math.round(v * 1000) / 1000));
    const text = (await query([{ target: "response_time", payload: '{"endpointId":"ep-123","aggregation":"max","interval":"1m"}' }], fx.m1, fx.m2 + MINUTE - 1)).json;
    expect(points(text[0])).toEqual([4, 6]);
  });

  it("annotations are the status changes in the range", async () => {
    const res = await call("/grafana/annotations", { body: { range: { from: iso(fx.m1), to: iso(fx.m2 + MINUTE) }, annotation: { name: "changes", query: "endpointId=ep-123" } } });
    expect(res.json.map((a: any) => [a.time, a.title])).toEqual([
      [fx.m2, "router-01 is offline"],
      [fx.m2 + 30_000, "router-01 is online"],
    ]);
  });

  it("refuses bad queries and missing tokens in the one error shape", async () => {
    const range = { from: iso(fx.m1), to: iso(fx.m2) };
    for (const body of [
      { range, targets: [{ target: "weather" }] },
      { range, targets: [{ target: "response_time", aggregation: "median" }] },
      { range, targets: [{ target: "response_time", interval: "5 minutes" }] },
      { range, targets: [{ target: "status_count", status: "sleeping" }] },
      { range: { from: range.to, to: range.from }, targets: [] },
      { range: { from: iso(fx.base - 100 * DAY), to: iso(fx.base) }, targets: [{ target: "availability" }] },
      { target: "availability", endpointId: 123 },
      { target: "availability", endpointId: 'ep-1"].x' },
    ]) {
      const res = await call("/grafana/query", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ error: "validation_error" });
    }
    expect((await call("/grafana/query", { rawBody: "{nope", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await call("/grafana/query", { body: { targets: [] }, token: null })).status).toBe(401);
    expect((await call("/grafana", { token: "wrong" })).status).toBe(401);
  });
});

describe("seed 002 Prometheus metrics at /api/metrics", () => {
  it("serve the job metrics plus the pulse_* families with the seed's HELP and TYPE lines", async () => {
    const res = await text("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = res.text.split("\n");
    expect(res.text).toContain("# HELP tickerq_jobs_total");
    for (const line of [
      "# HELP pulse_endpoint_status Current status of monitoring endpoints (1=online, 0=offline)",
      "# TYPE pulse_endpoint_status gauge",
      'pulse_endpoint_status{endpoint="router-01",group="network"} 1',
      'pulse_endpoint_status{endpoint="server-01",group="servers"} 0',
      // Disabled: its stored "online" is not current.
      'pulse_endpoint_status{endpoint="router-01 (ep-789)",group=""} 0',
      'pulse_endpoint_response_time{endpoint="router-01 (ep-789)",group=""} 0',
      "# HELP pulse_endpoint_response_time Response time in milliseconds",
      "# TYPE pulse_endpoint_response_time gauge",
      'pulse_endpoint_response_time{endpoint="router-01",group="network"} 2.5',
      'pulse_endpoint_response_time{endpoint="server-01",group="servers"} 0',
      "# HELP pulse_checks_total Total number of monitoring checks performed",
      "# TYPE pulse_checks_total counter",
      'pulse_checks_total{endpoint="router-01",status="success"} 8640',
      'pulse_checks_total{endpoint="router-01",status="failure"} 12',
      "# HELP pulse_system_uptime System uptime in seconds",
      "# TYPE pulse_system_uptime gauge",
    ]) {
      expect(lines).toContain(line);
    }
    const uptime = Number(lines.find((l) => l.startsWith("pulse_system_uptime "))!.split(" ")[1]);
    const expected = (Date.now() - fx.endpoints[0].createdAt) / 1000;
    expect(uptime).toBeGreaterThan(expected - 60);
    expect(uptime).toBeLessThanOrEqual(expected);
    // Valid exposition, one family per name, no two series with the same labels.
    const families = parsePrometheusTextFormat(res.text);
    for (const f of families) {
      const keys = f.metrics.map((m: any) => JSON.stringify(m.labels ?? {}));
      expect(new Set(keys).size, f.name).toBe(keys.length);
    }
    expect(families.filter((f) => f.name.startsWith("pulse_")).map((f) => f.name)).toEqual(["pulse_endpoint_status", "pulse_endpoint_response_time", "pulse_checks_total", "pulse_system_uptime"]);
  });

  it("need a token; the job-only /metrics is unchanged", async () => {
    expect((await text("/metrics", null)).status).toBe(401);
    const jobs = await exports.default.fetch(new Request(`${root}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } }));
    expect(await jobs.text()).not.toContain("pulse_");
  });
});

describe("seed 002 history export at /api/export/history", () => {
  const range = `startTime=${iso(fx.base)}&endTime=${iso(fx.base + 2 * DAY - 1)}`;
  const csvRecords = (csv: string) => {
    const [header, ...rows] = parseCsv(csv);
    return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  };
  /** CSV cells are text: compare JSON records as CSV would write them. */
  const asCsv = (records: Record<string, unknown>[]) => records.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v == null ? "" : String(v)])));

  it("hourly: the hour rollups, per endpoint, oldest first; CSV and JSON agree", async () => {
    const json = (await call(`/export/history?format=json&bucket=hourly&${range}`)).json;
    expect(json.map((r: any) => [r.endpointId, r.time, r.checks, r.successes, r.availability])).toEqual([
      ["ep-123", iso(fx.m1), 4, 3, 75],
      ["ep-456", iso(fx.m1), 2, 1, 50],
      ["ep-123", iso(fx.m1 + HOUR), 120, 120, 100],
      ["ep-123", iso(fx.base + DAY + 3 * HOUR), 10, 10, 100],
    ]);
    expect(json[0]).toMatchObject({ endpointName: "router-01", group: "network", bucketEnd: iso(fx.m1 + HOUR - 1), avgResponseTimeMs: 4, minResponseTimeMs: 2, maxResponseTimeMs: 6, failures: 1 });
    const csv = await text(`/export/history?format=csv&bucket=hourly&${range}`);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csvRecords(csv.text)).toEqual(asCsv(json));
  });

  it("daily: hour rollups summed per UTC day", async () => {
    const json = (await call(`/export/history?format=json&bucket=daily&${range}`)).json;
    expect(json.map((r: any) => [r.endpointId, r.time, r.checks, r.successes])).toEqual([
      ["ep-123", iso(fx.base), 124, 123],
      ["ep-456", iso(fx.base), 2, 1],
      ["ep-123", iso(fx.base + DAY), 10, 10],
    ]);
    expect(json[0]).toMatchObject({ minResponseTimeMs: 1, maxResponseTimeMs: 6, bucketEnd: iso(fx.base + DAY - 1) });
    const only = (await call(`/export/history?format=json&bucket=daily&endpointId=ep-456&${range}`)).json;
    expect(only.map((r: any) => r.endpointId)).toEqual(["ep-456"]);
  });

  it("raw: every check from the minute rollups, errors included, and it round-trips through CSV", async () => {
    const span = `startTime=${iso(fx.m1)}&endTime=${iso(fx.m2 + MINUTE - 1)}`;
    const json = (await call(`/export/history?format=json&bucket=raw&${span}`)).json;
    expect(json.map((r: any) => [r.endpointId, r.time, r.successes, r.avgResponseTimeMs, r.error])).toEqual([
      ["ep-123", iso(fx.m1), 1, 2, null],
      ["ep-456", iso(fx.m1 + 5_000), 0, null, 'connection refused, "ECONNREFUSED"'],
      ["ep-123", iso(fx.m1 + 30_000), 1, 4, null],
      ["ep-456", iso(fx.m1 + 35_000), 1, 10, null],
      ["ep-123", iso(fx.m2), 0, null, "timeout"],
      ["ep-123", iso(fx.m2 + 30_000), 1, 6, null],
    ]);
    expect(csvRecords((await text(`/export/history?format=csv&bucket=raw&${span}`)).text)).toEqual(asCsv(json));
  });

  it("seed 002's curl example works verbatim (an empty period is a header only)", async () => {
    const res = await text("/export/history?format=csv&bucket=daily&startTime=2024-01-01T00:00:00Z&endTime=2024-01-31T23:59:59Z");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="endpoint-history-daily.csv"');
    expect(parseCsv(res.text)).toEqual([["endpointId", "endpointName", "group", "time", "bucketEnd", "checks", "successes", "failures", "availability", "avgResponseTimeMs", "minResponseTimeMs", "maxResponseTimeMs", "p95ResponseTimeMs", "error"]]);
  });

  it("refuses bad parameters with 400 and no token with 401", async () => {
    for (const q of [
      "bucket=weekly",
      "format=xml",
      "startTime=yesterday",
      `startTime=${iso(fx.m2)}&endTime=${iso(fx.m1)}`,
      `bucket=raw&startTime=${iso(fx.base - 10 * DAY)}&endTime=${iso(fx.base)}`,
      "startTime=2020-01-01&endTime=2024-01-01",
      "endpointId=",
      "endpointId=ep%22%5D",
      "colour=red",
    ]) {
      const res = await call(`/export/history?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json).toMatchObject({ error: "validation_error" });
    }
    expect((await call("/export/history", { token: null })).status).toBe(401);
  });
});

describe("seed 002 surfaces in the OpenAPI document", () => {
  it("are described at their root paths, tagged monitoring", async () => {
    const doc = (await requestJson((req) => exports.default.fetch(req), `${BASE}/openapi.json`, ADMIN, { token: null })).json;
    for (const [path, method] of [["/api/ws/status", "get"], ["/api/events/status", "get"], ["/api/grafana/query", "post"], ["/api/metrics", "get"], ["/api/export/history", "get"]]) {
      const op = doc.paths[path]?.[method];
      expect(op?.summary, path).not.toMatch(/not described/);
      expect(op.tags).toEqual(["monitoring"]);
    }
    expect(doc.paths["/api/export/history"].get.parameters.map((p: any) => p.name)).toEqual(["format", "bucket", "startTime", "endTime", "endpointId"]);
    expect(JSON.stringify(doc.paths["/api/grafana/query"].post.requestBody)).toContain("targets");
  });
});
