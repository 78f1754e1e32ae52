import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitForStatus } from "./helpers";

const scrape = (headers: Record<string, string>, path = "/metrics") => exports.default.fetch(new Request(`http://edge-ticker.test${path}`, { headers }));

async function insertJob(queue: string, status: "pending" | "running", at: { runAt: number; leaseUntil?: number }) {
  const id = `job_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    `INSERT INTO jobs (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, lease_until, created_at, updated_at, executed_at)
     VALUES (?1, ?2, 'echo', 'inserted', ?3, 1, '{}', ?4, ?5, 3, ?6, ?4, ?4, ?7)`,
  )
    .bind(id, queue, status, at.runAt, status === "running" ? 1 : 0, at.leaseUntil ?? null, status === "running" ? at.runAt : null)
    .run();
  return id;
}

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

  // Another test file's reconciler may take the inserted jobs back at any moment; a retry covers that race.
  it("names jobs stuck past their lease and the oldest overdue job of a queue that is not paused", { retry: 2 }, async () => {
    const queue = uniqueQueue("health");
    const now = Date.now();
    const stuck = await insertJob(queue, "running", { runAt: now - 120_000, leaseUntil: now - 60_000 });
    const overdue = await insertJob(queue, "pending", { runAt: now - 400 * 24 * 3600_000 });
    try {
      const r = await api("/metrics/system");
      expect(r.json.checks.stuckJobs.count).toBeGreaterThanOrEqual(1);
      expect(r.json.checks.stuckJobs.status).not.toBe("healthy");
      expect(r.json.checks.overduePending).toMatchObject({ status: "unhealthy", queue, scheduledAt: new Date(now - 400 * 24 * 3600_000).toISOString() });
      expect(r.json.systemHealth).toBe("unhealthy");
      expect(r.json.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/past (its|their) lease/), expect.stringContaining(`queue "${queue}"`)]));
      expect(r.json.activeWorkers).toBeGreaterThanOrEqual(1);
      expect(r.json.queueLength).toBeGreaterThanOrEqual(1);

      await api(`/queues/${queue}/pause`, { method: "POST" });
      const paused = await api("/metrics/system");
      expect(paused.json.checks.overduePending.queue).not.toBe(queue);
      expect(paused.json.checks.overduePending.pausedQueues).toContain(queue);
    } finally {
      await env.DB.prepare(`DELETE FROM jobs WHERE id IN (?1, ?2)`).bind(stuck, overdue).run();
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
