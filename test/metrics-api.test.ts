import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { flushQueues } from "./flush-helpers";
import { api, uniqueQueue, waitForStatus } from "./helpers";
import { newJob } from "./live-helpers";

const scrape = (headers: Record<string, string>, path = "/metrics") => exports.default.fetch(new Request(`http://edge-ticker.test${path}`, { headers }));

describe("GET /metrics/system", () => {
  it("answers the seed's fields, the verdict's checks, and no invented memory or CPU figures", async () => {
    const r = await api("/metrics/system");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      timestamp: expect.stringMatching(/Z$/),
      systemHealth: expect.stringMatching(/^(healthy|degraded|unhealthy)$/),
      totalJobs: expect.any(Number),
      activeWorkers: expect.any(Number),
      queueLength: expect.any(Number),
      reasons: expect.any(Array),
      memoryUsage: null,
      cpuUsage: null,
      runtime: { platform: "cloudflare-workers", resourceUsageMeasurable: false },
    });
    expect(Object.keys(r.json.checks)).toEqual(["failureRate", "stuckJobs", "overduePending", "webhooks"]);
    expect(r.json.checks.failureRate).toMatchObject({ window: "00:15:00", completed: expect.any(Number), failed: expect.any(Number) });
    expect(r.json.checks.webhooks).toMatchObject({ available: true });
    expect(["healthy", "degraded", "unhealthy"]).toContain(r.json.checks.webhooks.status);
    expect(r.json.reasons).toEqual(Object.values(r.json.checks).flatMap((c: any) => c.reason ?? []));
  });

  it("names the oldest overdue job of a queue that is not paused, and counts the queues' live jobs", async () => {
    const queue = uniqueQueue("health");
    // One start a day: the first job takes it, so a second job stays waiting though it is due.
    await api(`/queues/${queue}`, { method: "PATCH", body: { rateLimit: { limit: 1, intervalSeconds: 86_400 } } });
    const running = (await api("/jobs", { body: { type: "echo", parameters: { sleepMs: 20_000 }, queue } })).json.id;
    await waitForStatus(running, ["running"]);
    const runAt = Date.now() - 400 * 24 * 3600_000;
    // Created at the scheduler with a run time long past, as a job of an outage would be.
    const overdue = newJob(queue, { runAt, createdAt: runAt });
    expect((await schedulerFor(env, queue).create({ queue, jobs: [overdue] })).created).toEqual([overdue.id]);
    try {
      const r = await api("/metrics/system");
      expect(r.json.checks.overduePending).toMatchObject({ status: "unhealthy", queue, scheduledAt: new Date(runAt).toISOString() });
      expect(r.json.systemHealth).toBe("unhealthy");
      expect(r.json.reasons).toEqual(expect.arrayContaining([expect.stringContaining(`queue "${queue}"`)]));
      expect(r.json.activeWorkers).toBeGreaterThanOrEqual(1);
      expect(r.json.queueLength).toBeGreaterThanOrEqual(1);
      expect(r.json.dueJobs).toBeGreaterThanOrEqual(1);

      await api(`/queues/${queue}/pause`, { method: "POST" });
      const paused = await api("/metrics/system");
      expect(paused.json.checks.overduePending.queue).not.toBe(queue);
      expect(paused.json.checks.overduePending.pausedQueues).toContain(queue);
    } finally {
      for (const id of [overdue.id, running]) await api(`/jobs/${id}/cancel`, { method: "POST" });
    }
  });
});

describe("GET /metrics/performance and /metrics/job-types", () => {
  it("defaults to the last 7 days in daily trends, including empty days", async () => {
    const r = await api("/metrics/performance");
    expect(r.status).toBe(200);
    expect(r.json.period.to).toMatch(/:59:59\.999Z$/);
    expect(r.json.granularity).toBe("day");
    const dates = r.json.trends.map((t: any) => t.date);
    expect(dates.length).toBeGreaterThanOrEqual(7);
    expect(dates.at(-1)).toBe(new Date().toISOString().slice(0, 10));
    for (let i = 1; i < dates.length; i++) expect(Date.parse(dates[i]) - Date.parse(dates[i - 1])).toBe(86_400_000);
    expect(r.json.summary).toMatchObject({ totalJobs: expect.any(Number), throughput: { jobsPerDay: expect.any(Number), peakJobsPerHour: expect.any(Number) } });
  });

  it("answers a bare-date period as whole days, and zeros without dividing by zero for a quiet queue", async () => {
    const quiet = uniqueQueue("quiet");
    const r = await api(`/metrics/performance?from=2024-01-01&to=2024-01-15&queue=${quiet}`);
    expect(r.json.period).toEqual({ from: "2024-01-01T00:00:00.000Z", to: "2024-01-15T23:59:59.999Z" });
    expect(r.json.trends).toHaveLength(15);
    expect(r.json.summary).toMatchObject({ totalJobs: 0, successRate: null, averageExecutionTime: null, throughput: { jobsPerDay: 0, peakJobsPerHour: 0 } });
    const types = await api(`/metrics/job-types?queue=${quiet}`);
    expect(types.json).toEqual({ period: null, filters: { queue: quiet, type: null }, jobTypes: [] });
  });

  it("filters job types by type and period", async () => {
    const queue = uniqueQueue("types");
    const id = (await api("/jobs", { body: { type: "word-count", parameters: { text: "x y" }, queue } })).json.id;
    await waitForStatus(id, ["completed"]);
    await flushQueues(queue);
    const all = await api(`/metrics/job-types?queue=${queue}&type=word-count`);
    expect(all.json.jobTypes).toEqual([expect.objectContaining({ type: "word-count", totalExecutions: 1, successRate: 100, failureReasons: [] })]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await api(`/metrics/job-types?queue=${queue}&from=${today}`)).json.jobTypes[0].totalExecutions).toBe(1);
    expect((await api(`/metrics/job-types?queue=${queue}&to=2024-01-01`)).json.jobTypes).toEqual([]);
  });

  it("refuses bad periods and unknown parameters in the one error shape", async () => {
    for (const path of [
      "/metrics/performance?from=2024-02-01&to=2024-01-01",
      "/metrics/performance?from=2020-01-01&to=2024-01-01",
      "/metrics/performance?granularity=hour&from=2024-01-01&to=2024-03-01",
      "/metrics/performance?granularity=minute",
      "/metrics/performance?from=last-week",
      "/metrics/performance?queue=bad%20name",
      "/metrics/job-types?bogus=1",
      "/metrics/job-types?from=2024-13-01",
    ]) {
      const r = await api(path);
      expect(r.status, path).toBe(400);
      expect(r.json).toMatchObject({ error: "validation_error", message: expect.any(String), details: expect.any(Array) });
    }
    expect((await api("/metrics/system", { token: null })).status).toBe(401);
  });
});

describe("GET /metrics (Prometheus)", () => {
  it("is served at the root with a bearer token, and refused without one or without the read scope", async () => {
    const ok = await scrape({ authorization: "Bearer test-admin-token-0123456789abcdef-0123" });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    for (const name of ["tickerq_jobs_total", "tickerq_job_duration_seconds", "tickerq_queue_length", "tickerq_jobs_running", "tickerq_oldest_pending_job_age_seconds"]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
    const anonymous = await scrape({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await anonymous.json()).toMatchObject({ error: "unauthorized" });

    const key = await api("/keys", { body: { name: "writer", scopes: ["tickerq:write"] } });
    expect(key.status).toBe(201);
    expect((await scrape({ authorization: `Bearer ${key.json.key}` })).status).toBe(403);
    // A token in the URL is accepted on the streaming routes only.
    expect((await scrape({}, "/metrics?access_token=test-admin-token-0123456789abcdef-0123")).status).toBe(401);
  });
});
