import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { reconcile } from "../src/execution/reconciler";
import { failNextResultWrites } from "../src/execution/fault-hooks";
import { attemptTimeoutMs } from "../src/execution/run-attempt";
import { flushLive, requeueLiveJob } from "../src/scheduler/client";
import { api, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { claimAndDie, deliverBatch, dueButHeldJob, execMessage, expireLeaseOf, liveJob } from "./queue-helpers";

/** The queue's echo totals, once its scheduler has flushed what ended (the rollups are written by the flush). */
const totals = async (queue: string) => {
  await flushLive(env, queue);
  return env.DB.prepare("SELECT completed, failed, cancelled, retried FROM job_totals WHERE queue = ? AND type = 'echo'").bind(queue).first();
};

const resume = async (queue: string) => expect((await api(`/queues/${queue}/resume`, { method: "POST" })).status).toBe(200);

const faultEnv = { ...env, FAULT_INJECTION: "true" } as Env;

describe("a cancel request always ends the job cancelled", () => {
  it("when the running attempt fails into a retry before it sees the request", async () => {
    const queue = uniqueQueue();
    // The handler fails after 700 ms, before the first heartbeat (1 s) could abort it.
    const id = await dueButHeldJob(queue, { sleepMs: 700, fail: true }, { maxRetries: 3 });
    const delivered = deliverBatch([execMessage(queue, [[id, 0]])]);
    await waitFor(async () => (await api(`/jobs/${id}`)).json.status === "running", 5000, 10);
    expect((await api(`/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
    await delivered;

    const job = (await api(`/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: "cancelled", cancelRequested: false, retryCount: 0, error: "Cancelled while running." });
    expect(job.executionHistory).toMatchObject([{ attempt: 1, status: "cancelled", retryAt: null }]);
    expect(job.executionHistory[0].error).toMatch(/echo failed on request/);
    // The job.cancelled event was recorded instead of job.retrying.
    expect(await totals(queue)).toMatchObject({ cancelled: 1, retried: 0 });
  });

  it("when its worker died mid-run and the lease expires (cancel while the worker is dead)", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, {}, { maxRetries: 3 });
    await claimAndDie(id, true);
    expect((await api(`/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
    await expireLeaseOf(id);
    expect(await reconcile(env)).toContain(queue);

    const job = await waitForStatus(id, ["cancelled", "completed", "failed"], 10_000);
    expect(job).toMatchObject({ status: "cancelled", cancelRequested: false, retryCount: 0 });
    expect(job.executionHistory).toMatchObject([{ attempt: 1, status: "cancelled" }]);
    expect(await totals(queue)).toMatchObject({ cancelled: 1, retried: 0, completed: 0 });
    // Nothing is left for the scheduler to re-arm.
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(`/jobs/${id}`)).json.status).toBe("cancelled");
  });

  it("when its worker died before the handler started", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, {});
    await claimAndDie(id, false);
    expect((await api(`/jobs/${id}/cancel`, { method: "POST" })).status).toBe(202);
    await expireLeaseOf(id);
    await reconcile(env);
    const job = await waitForStatus(id, ["cancelled", "completed", "failed"], 10_000);
    expect(job.status).toBe("cancelled");
  });

  it("when the job is waiting for its retry (at once, 200)", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { fail: true }, { maxRetries: 3 });
    await deliverBatch([execMessage(queue, [[id, 0]])]);
    expect((await api(`/jobs/${id}`)).json.status).toBe("pending");
    const res = await api(`/jobs/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "cancelled", cancelRequested: false });
  });
});

describe("an attempt's end that cannot be written", () => {
  it("is written on a later try, and the job completes exactly once", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { ledger: true, message: "retried write" });
    failNextResultWrites(2);
    try {
      const result = await deliverBatch([execMessage(queue, [[id, 0]])], { withEnv: faultEnv });
      expect(result.explicitAcks).toHaveLength(1);
      expect(result.retryMessages).toHaveLength(0);
    } finally {
      failNextResultWrites(0);
    }
    const job = (await api(`/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: "completed", attempts: 1, result: { echo: "retried write", attempt: 1 } });
    const runs = await env.DB.prepare("SELECT COUNT(*) AS n FROM echo_ledger WHERE job_id = ?").bind(id).first<{ n: number }>();
    expect(runs?.n).toBe(1);
  });

  it("is never acked: the message is redelivered, the claim guard refuses it, and the lease settles the job", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { ledger: true }, { maxRetries: 0 });
    const msg = execMessage(queue, [[id, 0]]);
    failNextResultWrites(100);
    try {
      const result = await deliverBatch([msg], { withEnv: faultEnv });
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(1);
    } finally {
      failNextResultWrites(0);
    }
    expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "running", attempts: 1 });

    // The redelivery claims nothing and runs nothing while the attempt's lease holds.
    const again = await deliverBatch([msg]);
    expect(again.explicitAcks).toHaveLength(1);
    expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "running", attempts: 1 });

    await expireLeaseOf(id);
    await reconcile(env);
    const job = await waitForStatus(id, ["completed", "failed"], 10_000);
    // The handler had started, so even with no retries left the expiry is the job's end: failed, once.
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    const runs = await env.DB.prepare("SELECT attempt, COUNT(*) AS n FROM echo_ledger WHERE job_id = ? GROUP BY attempt").bind(id).all();
    expect(runs.results).toEqual([{ attempt: 1, n: 1 }]);
  });
});

describe("timeouts stay inside the platform's limits", () => {
  it("refuses timeouts above 840 s for jobs, recurring jobs and queue defaults, and stores nothing", async () => {
    const queue = uniqueQueue();
    const before = (await api(`/jobs?queue=${queue}&limit=1`)).json.totalCount;
    for (const timeoutSeconds of [841, 900]) {
      const job = await api("/jobs", { body: { type: "echo", queue, timeoutSeconds } });
      expect(job.status).toBe(400);
      expect(job.json.error).toBe("validation_error");
      expect(JSON.stringify(job.json)).toMatch(/840/);
      const recurring = await api("/jobs/recurring", { body: { type: "echo", name: "r", cronExpression: "0 * * * *", queue, timeoutSeconds } });
      expect(recurring.status).toBe(400);
      const defaults = await api(`/queues/${queue}`, { method: "PATCH", body: { defaults: { timeoutSeconds } } });
      expect(defaults.status).toBe(400);
    }
    expect((await api(`/jobs?queue=${queue}&limit=1`)).json.totalCount).toBe(before);
    expect((await api(`/queues/${queue}`)).status).toBe(404);
    const ok = await api("/jobs", { body: { type: "echo", queue, timeoutSeconds: 840, delay: "01:00:00" } });
    expect(ok.status).toBe(201);
    expect((await api(`/jobs/${ok.json.id}`)).json.timeoutSeconds).toBe(840);
    await api(`/jobs/${ok.json.id}/cancel`, { method: "POST" });
  });

  it("gives a job type's longer default timeout the cap", async () => {
    const created = await api("/jobs", { body: { type: "http", parameters: { url: "http://127.0.0.1:9/" }, delay: "01:00:00", queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    expect((await api(`/jobs/${created.json.id}`)).json.timeoutSeconds).toBe(840);
    await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
  });

  it("runs an attempt stored with a longer timeout no longer than the cap, nor past its lease", () => {
    expect(attemptTimeoutMs({ timeoutMs: 900_000, leaseUntil: null, executedAt: null }, 60_000)).toBe(840_000);
    expect(attemptTimeoutMs({ timeoutMs: null, leaseUntil: null, executedAt: null }, 900_000)).toBe(840_000);
    // An old claim whose lease assumed 60 s: the attempt stops within it.
    expect(attemptTimeoutMs({ timeoutMs: null, leaseUntil: 1_000 + 60_000 + 30_000, executedAt: 1_000 }, 900_000)).toBe(60_000);
  });

  it("retries a timed-out attempt whose handler stopped on its signal after the usual delay", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { sleepMs: 5000 }, { timeoutSeconds: 1, maxRetries: 2 });
    await deliverBatch([execMessage(queue, [[id, 0]])]);
    const job = (await api(`/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: "pending", retryCount: 1 });
    expect(job.error).toMatch(/Timed out/);
    expect(Date.parse(job.scheduledAt) - Date.parse(job.executionHistory[0].completedAt)).toBeLessThan(5000);
    await api(`/jobs/${id}/cancel`, { method: "POST" });
  });

  it("makes an abandoned handler's retry wait until its consumer invocation must have ended, and discards what it returns", async () => {
    const queue = uniqueQueue();
    // Sleeps 3 s through its 1 s timeout; its batch also holds a job with a 60 s timeout.
    const stubborn = await dueButHeldJob(queue, { sleepMs: 3000, ignoreSignal: true, message: "too late" }, { timeoutSeconds: 1, maxRetries: 2 });
    const sibling = await dueButHeldJob(queue, { sleepMs: 100 }, { timeoutSeconds: 60 });
    // One message carries both, as the scheduler sends them.
    await deliverBatch([execMessage(queue, [[stubborn, 0], [sibling, 0]])]);
    const job = (await api(`/jobs/${stubborn}`)).json;
    expect(job).toMatchObject({ status: "pending", retryCount: 1 });
    expect(job.error).toMatch(/Timed out/);
    // The batch's latest lease: claim + 60 s + 30 s grace.
    const claimedAt = Date.parse(job.executionHistory[0].startedAt);
    expect(Date.parse(job.scheduledAt)).toBeGreaterThanOrEqual(claimedAt + 90_000);
    expect(Date.parse(job.executionHistory[0].retryAt)).toBe(Date.parse(job.scheduledAt));

    // When the abandoned handler returns, nothing of it is recorded.
    await new Promise((r) => setTimeout(r, 2500));
    const after = (await api(`/jobs/${stubborn}`)).json;
    expect(after).toMatchObject({ status: "pending", retryCount: 1, result: null, error: job.error, updatedAt: job.updatedAt });
    expect(after.executionHistory).toHaveLength(1);
    await api(`/jobs/${stubborn}/cancel`, { method: "POST" });
  });
});

describe("no job waits for a heal when it could run", () => {
  it("claims the current attempt when an older message for the job arrives in the same batch", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { ledger: true, failTimes: 1 }, { maxRetries: 3 });
    // The first attempt fails; the job waits for its second attempt, made due at once.
    await deliverBatch([execMessage(queue, [[id, 0]])]);
    expect(await liveJob(id)).toMatchObject({ status: "pending", attempt: 1, retryCount: 1 });
    expect(await requeueLiveJob(env, { queue, id, from: ["pending"], runAt: Date.now(), resetRetryCount: false })).toHaveProperty("job");
    // A stale message of the first attempt comes last in the batch.
    const result = await deliverBatch([execMessage(queue, [[id, 1]]), execMessage(queue, [[id, 0]])]);
    expect(result.explicitAcks).toHaveLength(2);
    const job = (await api(`/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: "completed", attempts: 2 });
    const runs = await env.DB.prepare("SELECT attempt FROM echo_ledger WHERE job_id = ? ORDER BY attempt").bind(id).all();
    expect(runs.results).toEqual([{ attempt: 1 }, { attempt: 2 }]);
  });

  it("runs a job whose message came before it was due once it is due, never early, with no heal", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: { type: "echo", delay: "00:00:02", queue, parameters: { ledger: true } } });
    const id = created.json.id;
    // A message for the job arrives before it is due (a copy sent by hand): it claims nothing.
    const early = await deliverBatch([execMessage(queue, [[id, 0]])]);
    expect(early.explicitAcks).toHaveLength(1);
    expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "pending", attempts: 0 });
    // Its scheduler still dispatches it when it is due, and it runs once.
    const job = await waitForStatus(id, ["completed"], 10_000);
    expect(job.executionHistory).toHaveLength(1);
    expect(Date.parse(job.executedAt)).toBeGreaterThanOrEqual(Date.parse(job.scheduledAt));
    const runs = await env.DB.prepare("SELECT attempt FROM echo_ledger WHERE job_id = ?").bind(id).all();
    expect(runs.results).toEqual([{ attempt: 1 }]);
  });

  it("does not use up a retry for a lease that expired before the handler started", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, { ledger: true }, { maxRetries: 0 });
    await claimAndDie(id, false);
    await expireLeaseOf(id);
    await resume(queue);
    await reconcile(env);
    const job = await waitForStatus(id, ["completed", "failed"], 10_000);
    expect(job).toMatchObject({ status: "completed", retryCount: 0, attempts: 2 });
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    expect(job.executionHistory[0].error).toMatch(/before starting it/);
    const runs = await env.DB.prepare("SELECT attempt FROM echo_ledger WHERE job_id = ?").bind(id).all();
    expect(runs.results).toEqual([{ attempt: 2 }]);
  });

  it("still counts a lease that expired after the handler started", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, {}, { maxRetries: 0 });
    await claimAndDie(id, true);
    await expireLeaseOf(id);
    await reconcile(env);
    const job = await waitForStatus(id, ["completed", "failed"], 10_000);
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job.error).toMatch(/lease expired/);
  });
});
