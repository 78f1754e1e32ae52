import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { reconcile } from "../src/execution/reconciler";
import { flushLive, schedulerFor } from "../src/scheduler/client";
import { api, uniqueQueue, waitForStatus } from "./helpers";
import { claimAndDie, deliverBatch, dueButHeldJob, execMessage, expireLeaseOf } from "./queue-helpers";

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
    // Paused, the scheduler holds the retry instead of running it again while we look.
    const slow = await dueButHeldJob(queue, { message: "slow", sleepMs: 300 });
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
    await flushLive(env, queue);
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

describe("the heartbeat", () => {
  /** The env with its schedulers wrapped: every heartbeat call's input is kept. */
  function countingHeartbeats() {
    type Beat = Parameters<ReturnType<typeof schedulerFor>["heartbeat"]>[0];
    const calls: Beat[] = [];
    const ns = env.QUEUE_SCHEDULER;
    const wrapped = {
      idFromName: (name: string) => ns.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = ns.get(id);
        return {
          claim: (input: Parameters<typeof stub.claim>[0]) => stub.claim(input),
          claimMessages: (input: Parameters<typeof stub.claimMessages>[0]) => stub.claimMessages(input),
          started: (input: Parameters<typeof stub.started>[0]) => stub.started(input),
          finish: (input: Parameters<typeof stub.finish>[0]) => stub.finish(input),
          get: (input: Parameters<typeof stub.get>[0]) => stub.get(input),
          heartbeat: (input: Beat) => {
            calls.push(structuredClone(input));
            return stub.heartbeat(input);
          },
        };
      },
    };
    return { calls, env: { ...env, QUEUE_SCHEDULER: wrapped } as unknown as Env };
  }

  it("reports every attempt an invocation runs in one call per queue about once a second, with their progress", async () => {
    const queue = uniqueQueue();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await dueButHeldJob(queue, { sleepMs: 2500, progressSteps: 5 }));
    const counting = countingHeartbeats();
    const delivered = deliverBatch([execMessage(queue, ids.map((id) => [id, 0]))], { withEnv: counting.env });
    // While they run, their progress is what their scheduler shows.
    const running = await waitForProgress(ids[0]);
    expect(running).toMatchObject({ status: "running" });
    expect(running.progress.percent).toBeGreaterThan(0);
    expect((await delivered).explicitAcks).toHaveLength(1);

    expect(counting.calls.length).toBeGreaterThanOrEqual(1);
    expect(counting.calls.length).toBeLessThanOrEqual(3);
    for (const call of counting.calls) expect(call.running.map((r) => r.id).sort()).toEqual([...ids].sort());
    const done = await Promise.all(ids.map(async (id) => (await api(`/jobs/${id}`)).json));
    for (const job of done) expect(job).toMatchObject({ status: "completed", progress: { percent: 100 } });
  });
});

async function waitForProgress(id: string) {
  for (let i = 0; i < 100; i++) {
    const job = (await api(`/jobs/${id}`)).json;
    if (job.progress?.percent > 0) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never showed progress`);
}

describe("reconciler", () => {
  it("recovers a job whose consumer died mid-run", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue);
    // What a consumer leaves behind when it dies after starting the handler: running, lease passed.
    await claimAndDie(id, true);
    await expireLeaseOf(id);
    expect((await api(`/queues/${queue}/resume`, { method: "POST" })).status).toBe(200);
    const healed = await reconcile(env);
    expect(healed).toContain(queue);
    const job = await waitForStatus(id, ["completed", "failed"], 15_000);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    expect(job.executionHistory[0].error).toMatch(/lease expired/);
  });

  it("runs a pending job the previous engine left in D1", async () => {
    const queue = uniqueQueue();
    // A row as the previous engine wrote it: pending and due, in D1 only (no queue row either). Its
    // queue's scheduler imports it once, when the reconciler wakes it.
    const id = `job_legacy${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, max_retries, created_at, updated_at)
       VALUES (?1, ?2, 'echo', 'echo', 'pending', 1, '{}', ?3, 3, ?3, ?3)`,
    )
      .bind(id, queue, now - 120_000)
      .run();
    expect(await reconcile(env)).toContain(queue);
    const job = await waitForStatus(id, ["completed"], 15_000);
    expect(job.executionHistory).toHaveLength(1);
  });

  it("fails a job whose lease expired with no retries left", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue, {}, { maxRetries: 0 });
    await claimAndDie(id, true);
    await expireLeaseOf(id);
    await reconcile(env);
    const job = await waitForStatus(id, ["failed"], 10_000);
    expect(job.executionHistory).toHaveLength(1);
    expect(job.error).toMatch(/lease expired/);
  });
});
