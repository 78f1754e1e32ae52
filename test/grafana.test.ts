import { beforeAll, describe, expect, it } from "vitest";
import { flushQueues } from "./flush-helpers";
import { api, uniqueQueue, waitForStatus } from "./helpers";

const HOUR = 3600_000;
const queue = uniqueQueue("grafana");
let failedJobId = "";
let range: { from: string; to: string; raw: { from: string; to: string } };

// Request bodies as the simpod JSON datasource sends them (fields copied from its requests, including the ones we ignore).
const queryBody = (targets: unknown[], extra: Record<string, unknown> = {}) => ({
  app: "dashboard",
  requestId: "Q101",
  timezone: "browser",
  panelId: 2,
  dashboardUID: "edge-ticker",
  range,
  rangeRaw: range.raw,
  interval: "1m",
  intervalMs: 60_000,
  maxDataPoints: 1094,
  targets,
  scopedVars: { __interval: { text: "1m", value: "1m" }, __interval_ms: { text: "60000", value: 60_000 } },
  startTime: Date.now(),
  adhocFilters: [],
  ...extra,
});

beforeAll(async () => {
  const ids: string[] = [];
  for (const parameters of [{}, {}, {}, { fail: true }]) ids.push((await api("/jobs", { body: { type: "echo", parameters, maxRetries: 0, queue } })).json.id);
  ids.push((await api("/jobs", { body: { type: "word-count", parameters: { text: "a b" }, queue } })).json.id);
  for (const id of ids) await waitForStatus(id, ["completed", "failed"]);
  // Rollups and failed jobs reach D1 with the queue's archive flush.
  await flushQueues(queue);
  failedJobId = ids[3];
  const now = Date.now();
  range = { from: new Date(now - 6 * HOUR).toISOString(), to: new Date(now).toISOString(), raw: { from: "now-6h", to: "now" } };
});

describe("Grafana JSON datasource", () => {
  it("answers the connection test and lists metrics for both plugin generations", async () => {
    expect((await api("/grafana/")).status).toBe(200);
    expect((await api("/grafana", { token: null })).status).toBe(401);

    const search = await api("/grafana/search", { body: { type: "timeseries", target: "" } });
    expect(search.json).toEqual(expect.arrayContaining(["jobs_completed", "jobs_failed", "success_rate", "avg_duration_seconds", "queue_length"]));
    expect((await api("/grafana/search", { body: { target: "queues" } })).json).toContain(queue);

    const metrics = await api("/grafana/metrics", { body: {} });
    expect(metrics.status).toBe(200);
    const failed = metrics.json.find((m: any) => m.value === "jobs_failed");
    expect(failed.label).toEqual(expect.any(String));
    expect(failed.payloads.map((p: any) => p.name)).toEqual(["queue", "type", "groupBy", "format"]);

    const options = await api("/grafana/metric-payload-options", { body: { metric: "jobs_failed", payload: {}, name: "queue" } });
    expect(options.json).toContainEqual({ label: queue, value: queue });
    const variable = await api("/grafana/variable", { body: { payload: { target: "types" }, range } });
    expect(variable.json).toContainEqual({ __text: "echo", __value: "echo" });
  });

  it("answers /query with hourly time series per target, filtered by payload or ad hoc filters", async () => {
    const r = await api("/grafana/query", {
      body: queryBody([
        { target: "jobs_completed", refId: "A", type: "timeserie", data: { queue } },
        { target: "jobs_failed", refId: "B", payload: { queue, groupBy: "type" } },
        { target: "success_rate", refId: "C" },
        { target: "jobs_completed", refId: "D", hide: true },
      ], { adhocFilters: [{ key: "queue", operator: "=", value: queue }] }),
    });
    expect(r.status).toBe(200);
    const [completed, echoFailed, wordCountFailed, rate, ...rest] = r.json;
    expect(rest).toEqual([]);
    const from = Math.floor(Date.parse(range.from) / HOUR) * HOUR;
    expect(completed).toMatchObject({ target: "jobs_completed", refId: "A" });
    expect(completed.datapoints).toHaveLength(7);
    expect(completed.datapoints.map((p: number[]) => p[1])).toEqual(Array.from({ length: 7 }, (_, i) => from + i * HOUR));
    expect(completed.datapoints.reduce((a: number, p: number[]) => a + p[0], 0)).toBe(4);
    expect(echoFailed).toMatchObject({ target: `jobs_failed{type="echo"}`, refId: "B" });
    expect(echoFailed.datapoints.reduce((a: number, p: number[]) => a + p[0], 0)).toBe(1);
    expect(wordCountFailed).toMatchObject({ target: `jobs_failed{type="word-count"}`, refId: "B" });
    expect(wordCountFailed.datapoints.every((p: number[]) => p[0] === 0)).toBe(true);
    expect(rate.datapoints.at(-1)[0]).toBeCloseTo(80, 5);
    expect(rate.datapoints[0][0]).toBeNull();
  });

  it("widens the step to respect maxDataPoints, and serves gauges and tables", async () => {
    const week = { from: new Date(Date.now() - 7 * 24 * HOUR).toISOString(), to: new Date().toISOString(), raw: { from: "now-7d", to: "now" } };
    const r = await api("/grafana/query", {
      body: queryBody(
        [
          { target: "jobs_finished", refId: "A", payload: { queue } },
          { target: "queue_length", refId: "B", payload: { queue } },
          { target: "jobs_failed", refId: "C", type: "table", payload: { queue } },
        ],
        { range: week, maxDataPoints: 20 },
      ),
    });
    expect(r.status).toBe(200);
    const [series, gauge, table] = r.json;
    expect(series.datapoints.length).toBeLessThanOrEqual(20);
    const step = series.datapoints[1][1] - series.datapoints[0][1];
    expect(step % HOUR).toBe(0);
    expect(step * 20).toBeGreaterThanOrEqual(7 * 24 * HOUR);
    expect(series.datapoints.reduce((a: number, p: number[]) => a + p[0], 0)).toBe(5);
    expect(gauge).toMatchObject({ target: "queue_length", refId: "B", datapoints: [[0, expect.any(Number)]] });
    expect(table.type).toBe("table");
    expect(table.columns.map((c: any) => c.text)).toEqual(["Queue", "Type", "Finished", "Completed", "Failed", "Cancelled", "Retried", "Success rate (%)", "Avg duration (s)"]);
    expect(table.rows).toEqual([
      [queue, "echo", 4, 3, 1, 0, 0, 75, expect.any(Number)],
      [queue, "word-count", 1, 1, 0, 0, 0, 100, expect.any(Number)],
    ]);
  });

  it("returns failed jobs and queue pauses as annotations", async () => {
    await api(`/queues/${queue}/pause`, { method: "POST" });
    await api(`/queues/${queue}/resume`, { method: "POST" });
    const now = new Date(Date.now() + 1000).toISOString();
    const annotation = { name: "Failures", datasource: "Edge Ticker", enable: true, iconColor: "rgba(255, 96, 96, 1)", query: `queue=${queue}` };
    const r = await api("/grafana/annotations", { body: { range: { ...range, to: now }, rangeRaw: range.raw, annotation, dashboard: "x" } });
    expect(r.status).toBe(200);
    expect(r.json.map((a: any) => a.tags[0])).toEqual(["job.failed", "queue.paused", "queue.resumed"]);
    expect(r.json[0]).toMatchObject({ annotation, time: expect.any(Number), title: expect.stringContaining("Job failed"), text: expect.stringContaining(failedJobId), tags: ["job.failed", queue, "echo"] });
    const times = r.json.map((a: any) => a.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const onlyPauses = await api("/grafana/annotations", { body: { range: { ...range, to: now }, annotation: { ...annotation, query: `queue-events queue=${queue}` } } });
    expect(onlyPauses.json.map((a: any) => a.tags[0])).toEqual(["queue.paused", "queue.resumed"]);
  });

  it("offers queue and type as ad hoc filter keys with their values", async () => {
    expect((await api("/grafana/tag-keys", { body: {} })).json).toEqual([
      { type: "string", text: "queue" },
      { type: "string", text: "type" },
    ]);
    expect((await api("/grafana/tag-values", { body: { key: "queue" } })).json).toContainEqual({ text: queue });
    expect((await api("/grafana/tag-values", { body: { key: "type" } })).json).toEqual(expect.arrayContaining([{ text: "echo" }, { text: "report" }]));
  });

  it("refuses malformed requests in the one error shape", async () => {
    const bad = [
      ["/grafana/query", { targets: [] }],
      ["/grafana/query", queryBody([{ target: "cpu_usage", refId: "A" }])],
      ["/grafana/query", queryBody([{ target: "jobs_failed", refId: "A" }], { adhocFilters: [{ key: "queue", operator: "!=", value: "x" }] })],
      ["/grafana/query", queryBody([{ target: "jobs_failed", refId: "A", payload: { groupBy: "status" } }])],
      ["/grafana/tag-values", { key: "status" }],
      ["/grafana/query", queryBody([{ target: "jobs_failed", refId: "A" }], { range: { from: "2024-02-01T00:00:00Z", to: "2024-01-01T00:00:00Z" } })],
      ["/grafana/annotations", { annotation: {} }],
    ] as const;
    for (const [path, body] of bad) {
      const r = await api(path, { body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.json).toMatchObject({ error: "validation_error", message: expect.any(String) });
    }
  });
});
