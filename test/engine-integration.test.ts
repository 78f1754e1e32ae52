import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { reconcile } from "../src/execution/reconciler";
import { api, uniqueQueue, waitForStatus } from "./helpers";
import { deliverBatch, dueButHeldJob, execMessage } from "./queue-helpers";



describe("exec consumer", () => {
  it("runs an attempt once when its message is delivered twice", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue);
    const msg = execMessage(queue, [[id, 0]]);
    const result = await deliverBatch([msg, msg]);
    expect(result.explicitAcks).toHaveLength(2);
    const job = (await api(`/jobs/${id}`)).json;
    expect(job.status).toBe("completed");
    expect(job.attempts).toBe(1);
    expect(job.executionHistory).toHaveLength(1);

    // A late duplicate after completion changes nothing either.
    await deliverBatch([msg]);
    const after = (await api(`/jobs/${id}`)).json;
    expect(after.executionHistory).toHaveLength(1);
    expect(after.completedAt).toBe(job.completedAt);
    await api(`/jobs/${id}/cancel`, { method: "POST" });
  });

  it("claims and records a batch of mixed outcomes in one delivery, each job as if it ran alone", async () => {
    const queue = uniqueQueue();
    const ok = await dueButHeldJob(queue, { message: "ok", logLines: 2 });
    const retry = await dueButHeldJob(queue, { failTimes: 1 }, { maxRetries: 3 });
    const failed = await dueButHeldJob(queue, { fail: true }, { maxRetries: 0 });
    const slow = await dueButHeldJob(queue, { message: "slow", sleepMs: 300 });
    // Paused, the scheduler holds the retry instead of running it again while we look.
    expect((await api(`/queues/${queue}/pause`, { method: "POST" })).status).toBe(200);
    // One message carries the four, as the scheduler sends them; it is acked once all four are recorded.
    const result = await deliverBatch([execMessage(queue, [ok, retry, failed, slow].map((jobId) => [jobId, 0]))]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);

    const [a, b, c, d] = await Promise.all([ok, retry, failed, slow].map(async (id) => (await api(`/jobs/${id}`)).json));
    expect(a).toMatchObject({ status: "completed", result: { echo: "ok", attempt: 1 }, attempts: 1, error: null });
    expect(a.executionHistory).toMatchObject([{ attempt: 1, status: "completed" }]);
    expect(b).toMatchObject({ status: "pending", retryCount: 1, attempts: 1 });
    expect(b.error).toMatch(/failed on request/);
    expect(b.executionHistory).toMatchObject([{ attempt: 1, status: "failed" }]);
    expect(c).toMatchObject({ status: "failed", retryCount: 0, attempts: 1 });
    expect(c.executionHistory).toMatchObject([{ attempt: 1, status: "failed" }]);
    expect(d).toMatchObject({ status: "completed", result: { echo: "slow", attempt: 1 } });
    expect(d.durationMs).toBeGreaterThanOrEqual(300);

    const logs = (await api(`/jobs/${ok}/logs`)).json.logs.map((l: { message: string }) => l.message);
    expect(logs).toEqual(["echo line 1", "echo line 2"]);
    const totals = await env.DB.prepare("SELECT completed, failed, retried FROM job_totals WHERE queue = ? AND type = 'echo'").bind(queue).first();
    expect(totals).toEqual({ completed: 2, failed: 1, retried: 1 });
    await api(`/jobs/${retry}/cancel`, { method: "POST" });
  });

  it("does not acknowledge a malformed message: it is sent back, towards the dead-letter queue", async () => {
    const result = await deliverBatch([{ nope: true }, "text"]);
    expect(result.explicitAcks).toHaveLength(0);
    expect(result.retryMessages).toHaveLength(2);
  });

  it("does not start a job before its run time even if a message arrives early", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: { type: "echo", delay: "01:00:00", queue } });
    await deliverBatch([execMessage(queue, [[created.json.id, 0]])]);
    const job = (await api(`/jobs/${created.json.id}`)).json;
    expect(job.status).toBe("pending");
    expect(job.executionHistory).toHaveLength(0);
    await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
  });
});

describe("reconciler", () => {
  it("recovers a job whose consumer died mid-run", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue);
    // What a consumer leaves behind when it dies after claiming: running, attempt 1, lease passed.
    const past = Date.now() - 120_000;
    await env.DB.batch([
      env.DB.prepare("UPDATE jobs SET status = 'running', attempt = 1, executed_at = ?, lease_until = ? WHERE id = ?").bind(past, past + 90_000, id),
      env.DB.prepare("INSERT INTO job_attempts (job_id, attempt, status, started_at, handler_started_at) VALUES (?1, 1, 'running', ?2, ?2)").bind(id, past),
    ]);
    const healed = await reconcile(env);
    expect(healed).toContain(queue);
    const job = await waitForStatus(id, ["completed", "failed"], 15_000);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    expect(job.executionHistory[0].error).toMatch(/lease expired/);
  });

  it("arms a pending job that no scheduler holds", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue);
    // Forget the job in the scheduler, as if the enqueue call had been lost.
    const stub = env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(queue));
    await stub.remove({ queue, jobIds: [id] });
    await new Promise((r) => setTimeout(r, 100));
    expect((await api(`/jobs/${id}`)).json.status).toBe("pending");
    // The job is overdue by more than the reconciler's threshold.
    await env.DB.prepare("UPDATE jobs SET run_at = ? WHERE id = ?").bind(Date.now() - 120_000, id).run();
    expect(await reconcile(env)).toContain(queue);
    const job = await waitForStatus(id, ["completed"], 15_000);
    expect(job.executionHistory).toHaveLength(1);
  });

  it("fails a job whose lease expired with no retries left", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: { type: "echo", delay: "01:00:00", maxRetries: 0, queue } });
    const id = created.json.id;
    const past = Date.now() - 120_000;
    await env.DB.batch([
      env.DB.prepare("UPDATE jobs SET status = 'running', attempt = 1, executed_at = ?, lease_until = ? WHERE id = ?").bind(past, past + 1000, id),
      env.DB.prepare("INSERT INTO job_attempts (job_id, attempt, status, started_at, handler_started_at) VALUES (?1, 1, 'running', ?2, ?2)").bind(id, past),
    ]);
    await reconcile(env);
    const job = await waitForStatus(id, ["failed"], 10_000);
    expect(job.executionHistory).toHaveLength(1);
    expect(job.error).toMatch(/lease expired/);
  });
});
