import { describe, expect, it } from "vitest";
import { api, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";

const httpJob = (queue: string, url: string, extra: Record<string, unknown> = {}) => ({ type: "http", queue, parameters: { url }, ...extra });

async function createBatch(jobs: unknown[]) {
  const res = await api("/jobs/batch", { body: { jobs } });
  expect(res.status).toBe(201);
  return res.json.jobs.map((j: any) => j.id as string);
}

async function waitAllCompleted(queue: string, n: number, timeoutMs = 60_000) {
  await waitFor(async () => {
    const q = (await api(`/queues/${queue}`)).json;
    return q.completedJobs === n ? q : null;
  }, timeoutMs, 200);
}

describe("queue scheduling", () => {
  it("never runs more than `workers` jobs of a queue at once", async () => {
    const queue = uniqueQueue("conc");
    const tag = queue;
    expect((await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 3 } })).status).toBe(200);
    await createBatch(Array.from({ length: 50 }, (_, i) => httpJob(queue, `${targetUrl()}/slow/${tag}?ms=100&i=${i}`)));
    await waitAllCompleted(queue, 50);
    const { calls, maxConcurrent } = await targetCalls(tag);
    expect(calls).toHaveLength(50);
    expect(maxConcurrent).toBeLessThanOrEqual(3);
    expect(maxConcurrent).toBeGreaterThanOrEqual(2);
  });

  it("holds a rate limit of 5 starts per second over 30 jobs", async () => {
    const queue = uniqueQueue("rate");
    const tag = queue;
    const set = await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 50, rateLimit: { limit: 5, intervalSeconds: 1 } } });
    expect(set.json.settings.rateLimit).toEqual({ limit: 5, intervalSeconds: 1 });
    await createBatch(Array.from({ length: 30 }, (_, i) => httpJob(queue, `${targetUrl()}/record/${tag}?i=${i}`)));
    await waitAllCompleted(queue, 30);
    const starts = (await targetCalls(tag)).calls.map((c) => c.at as number).sort((a, b) => a - b);
    expect(starts).toHaveLength(30);
    // Any 6 consecutive starts span at least the interval. The scheduler spaces its dispatches
    // exactly; the slack absorbs the local queue's delivery jitter between dispatch and the call.
    const SLACK_MS = 400;
    for (let i = 0; i + 5 < starts.length; i++) expect(starts[i + 5] - starts[i], `starts ${i}..${i + 5}`).toBeGreaterThanOrEqual(1000 - SLACK_MS);
    expect(starts[29] - starts[0]).toBeGreaterThanOrEqual(5 * 1000 - SLACK_MS);
  });

  it("holds due, delayed and retried work while paused, finishes running jobs, and runs everything on resume", async () => {
    const queue = uniqueQueue("pause");
    const [running] = await createBatch([{ type: "echo", queue, parameters: { sleepMs: 1500, failTimes: 1 }, maxRetries: 2 }]);
    await waitForStatus(running, ["running"]);
    const paused = await api(`/queues/${queue}/pause`, { method: "POST" });
    expect(paused.json.status).toBe("paused");
    const [due, delayed] = await createBatch([
      httpJob(queue, `${targetUrl()}/record/${queue}-due`),
      httpJob(queue, `${targetUrl()}/record/${queue}-delayed`, { delay: "00:00:01" }),
    ]);

    // The running attempt fails and is due for a retry (backoff ≤ 2 s in tests), but must not start.
    await waitFor(async () => (await api(`/jobs/${running}`)).json.retryCount === 1);
    await new Promise((r) => setTimeout(r, 3000));
    const held = await api(`/jobs/${running}`);
    expect(held.json).toMatchObject({ status: "pending", attempts: 1 });
    expect(Date.parse(held.json.scheduledAt)).toBeLessThan(Date.now());
    for (const id of [due, delayed]) expect((await api(`/jobs/${id}`)).json.status).toBe("pending");
    expect((await targetCalls(`${queue}-due`)).calls).toHaveLength(0);
    expect((await targetCalls(`${queue}-delayed`)).calls).toHaveLength(0);
    expect((await api(`/queues/${queue}`)).json).toMatchObject({ status: "paused", pendingJobs: 3, runningJobs: 0 });

    expect((await api(`/queues/${queue}/resume`, { method: "POST" })).json.status).toBe("running");
    for (const id of [running, due, delayed]) expect((await waitForStatus(id, ["completed", "failed"])).status).toBe("completed");
    expect((await api(`/jobs/${running}`)).json.attempts).toBe(2);
    expect((await targetCalls(`${queue}-due`)).calls).toHaveLength(1);
  });

  it("starts a backlog by priority, first in first out within a priority", async () => {
    const queue = uniqueQueue("prio");
    const tag = queue;
    await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 5 } });
    await api(`/queues/${queue}/pause`, { method: "POST" });
    const plan = ["low", "normal", "high", "low", "high", "normal", "normal", "high", "low", "normal"];
    // Separate requests, so arrival order differs from priority order across calls too.
    for (const [i, priority] of plan.entries()) {
      expect((await api("/jobs", { body: httpJob(queue, `${targetUrl()}/record/${tag}?n=${i}`, { priority }) })).status).toBe(201);
    }
    await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 1 } });
    await api(`/queues/${queue}/resume`, { method: "POST" });
    await waitAllCompleted(queue, plan.length);
    const order = (await targetCalls(tag)).calls.map((c) => Number(c.query.n));
    const rank = { high: 0, normal: 1, low: 2 } as Record<string, number>;
    const expected = plan.map((p, i) => ({ p, i })).sort((a, b) => rank[a.p] - rank[b.p] || a.i - b.i).map((x) => x.i);
    expect(order).toEqual(expected);
  });
});
