import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { reconcile } from "../src/execution/reconciler";
import { failNextResultWrites } from "../src/execution/fault-hooks";
import { MessageSettlement } from "../src/execution/message-settlement";
import { schedulerFor } from "../src/scheduler/client";
import { newJobId } from "../src/scheduler/job-ids";
import { ExecMessageSchema, MAX_JOBS_PER_MESSAGE, packExecMessages, type ExecMessage } from "../src/scheduler/messages";
import type { QueueScheduler } from "../src/scheduler/queue-scheduler";
import { api, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { deliverBatch, dueButHeldJob, execMessage, expireLeaseOf } from "./queue-helpers";

const faultEnv = { ...env, FAULT_INJECTION: "true" } as Env;

const ledgerRuns = async (id: string) =>
  (await env.DB.prepare("SELECT attempt, COUNT(*) AS n FROM echo_ledger WHERE job_id = ? GROUP BY attempt").bind(id).all()).results;

/**
 * Runs `body` inside the queue's scheduler with its exec queue replaced by a recorder: every
 * sendBatch call's messages are kept and none reaches a consumer. `fail` makes the sends throw.
 */
async function withRecordedSends<T>(queue: string, body: (instance: QueueScheduler, sends: ExecMessage[][]) => Promise<T>, fail = { on: false }) {
  return runInDurableObject(schedulerFor(env, queue), async (instance: QueueScheduler) => {
    const sends: ExecMessage[][] = [];
    const scheduler = instance as unknown as { env: Env };
    const sendBatch = async (messages: { body: unknown }[]) => {
      if (fail.on) throw new Error("queue unavailable");
      sends.push(messages.map((m) => ExecMessageSchema.parse(m.body)));
    };
    scheduler.env = { ...scheduler.env, EXEC_QUEUE: { send: async () => {}, sendBatch } } as unknown as Env;
    return body(instance, sends);
  });
}

/** `n` new jobs of `queue`, due now, as create takes them. */
const newJobs = (queue: string, n: number, now = Date.now()) =>
  Array.from({ length: n }, (_, i) => ({
    id: newJobId(queue, now),
    queue,
    type: "echo",
    name: `echo ${i}`,
    priority: 1,
    parameters: "{}",
    runAt: now,
    maxRetries: 0,
    timeoutMs: 60_000,
    createdAt: now + i,
  }));

const completed = (id: string, attempt: number) => ({ id, attempt, outcome: { kind: "completed" as const, result: "null" }, logs: [], at: Date.now(), progress: null });

describe("the scheduler packs many jobs into one exec message", () => {
  it("sends 60 due jobs as 3 messages, each within the cap and far under the size limit, holding one slot per job", async () => {
    const queue = uniqueQueue();
    const jobs = newJobs(queue, 60);
    const { sends, status } = await withRecordedSends(queue, async (instance, sends) => {
      await instance.configure({ queue, workers: 100 });
      await instance.create({ queue, jobs });
      return { sends, status: instance.status() };
    });
    expect(sends).toHaveLength(1);
    const messages = sends[0];
    expect(messages.map((m) => m.jobs.length)).toEqual([MAX_JOBS_PER_MESSAGE, MAX_JOBS_PER_MESSAGE, 60 - 2 * MAX_JOBS_PER_MESSAGE]);
    expect(messages.every((m) => m.queue === queue)).toBe(true);
    expect(new Set(messages.map((m) => m.token)).size).toBe(3);
    expect(messages.flatMap((m) => m.jobs)).toEqual(jobs.map((j) => [j.id, 0]));
    for (const m of messages) expect(JSON.stringify(m).length).toBeLessThan(4 * 1024);
    expect(status).toMatchObject({ inflight: 60, due: 0 });
  });

  it("frees slots per (job, attempt) as attempts end and dispatches what waits into them as one message", async () => {
    const queue = uniqueQueue();
    const jobs = newJobs(queue, 30);
    const result = await withRecordedSends(queue, async (instance, sends) => {
      await instance.configure({ queue, workers: 10 });
      await instance.create({ queue, jobs });
      const first = instance.status();
      const [message] = sends[0];
      const { claimed } = await instance.claim({ queue, token: message.token, jobs: message.jobs });
      // The end of another attempt of a job frees nothing.
      await instance.finish({ queue, ended: [completed(message.jobs[0][0], 2)] });
      const stale = instance.status();
      // Four jobs of the ten-job message end: four slots free, and four waiting jobs go out together.
      await instance.finish({ queue, ended: claimed.slice(0, 4).map((j) => completed(j.id, j.attempt)) });
      return { first, claimed: claimed.length, stale, after: instance.status(), sends };
    });
    expect(result.first).toMatchObject({ inflight: 10, due: 20 });
    expect(result.claimed).toBe(10);
    expect(result.sends[0].map((m) => m.jobs.length)).toEqual([10]);
    expect(result.stale).toMatchObject({ inflight: 10, due: 20 });
    expect(result.after).toMatchObject({ inflight: 10, due: 16 });
    expect(result.sends.map((s) => s.map((m) => m.jobs.length))).toEqual([[10], [4]]);
    expect(result.sends[1][0].jobs).toEqual(jobs.slice(10, 14).map((j) => [j.id, 0]));
    await schedulerFor(env, queue).remove({ queue, ids: jobs.map((j) => j.id) });
  });

  it("puts every job of a message that could not be sent back on the timeline and frees its slots", async () => {
    const queue = uniqueQueue();
    const fail = { on: true };
    const jobs = newJobs(queue, 40);
    const status = await withRecordedSends(
      queue,
      async (instance) => {
        await instance.configure({ queue, workers: 100 });
        await instance.create({ queue, jobs });
        return instance.status();
      },
      fail,
    );
    expect(status).toMatchObject({ inflight: 0, due: 40 });
    await schedulerFor(env, queue).remove({ queue, ids: jobs.map((j) => j.id) });
  });

  it("packs in order, never more than the cap per message, each message with its own token", () => {
    const jobs = (n: number) => Array.from({ length: n }, (_, i): [string, number] => [`job_${i}`, i % 3]);
    expect(packExecMessages("q", [])).toEqual([]);
    expect(packExecMessages("q", jobs(1)).map((m) => m.jobs.length)).toEqual([1]);
    expect(packExecMessages("q", jobs(MAX_JOBS_PER_MESSAGE)).map((m) => m.jobs.length)).toEqual([MAX_JOBS_PER_MESSAGE]);
    const packed = packExecMessages("q", jobs(2 * MAX_JOBS_PER_MESSAGE + 1));
    expect(packed.map((m) => m.jobs.length)).toEqual([MAX_JOBS_PER_MESSAGE, MAX_JOBS_PER_MESSAGE, 1]);
    expect(packed.flatMap((m) => m.jobs)).toEqual(jobs(2 * MAX_JOBS_PER_MESSAGE + 1));
    expect(new Set(packed.map((m) => m.token)).size).toBe(3);
    for (const m of packed) expect(ExecMessageSchema.safeParse(m).success).toBe(true);
  });
});

describe("the consumer runs a message of many jobs", () => {
  it("runs each job once, acks the message once all are recorded, and a redelivery (alone or twice in a batch) runs nothing again", async () => {
    const queue = uniqueQueue();
    const ids = [await dueButHeldJob(queue, { ledger: true }), await dueButHeldJob(queue, { ledger: true, sleepMs: 200 }), await dueButHeldJob(queue, { ledger: true })];
    const msg = execMessage(queue, ids.map((id) => [id, 0]));
    const first = await deliverBatch([msg]);
    expect(first).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
    const done = await Promise.all(ids.map(async (id) => (await api(`/jobs/${id}`)).json));
    for (const job of done) expect(job).toMatchObject({ status: "completed", attempts: 1 });

    const again = await deliverBatch([msg], { attempts: 2 });
    expect(again.explicitAcks).toHaveLength(1);
    const twice = await deliverBatch([msg, msg], { attempts: 3 });
    expect(twice.explicitAcks).toHaveLength(2);
    for (const [i, id] of ids.entries()) {
      expect(await ledgerRuns(id)).toEqual([{ attempt: 1, n: 1 }]);
      const job = (await api(`/jobs/${id}`)).json;
      expect(job).toMatchObject({ status: "completed", attempts: 1, completedAt: done[i].completedAt });
      expect(job.executionHistory).toHaveLength(1);
    }
  });

  it("claims the messages of one queue in a batch with one call per queue, and runs each of their jobs once", async () => {
    const [queue, other] = [uniqueQueue(), uniqueQueue()];
    const ids = [await dueButHeldJob(queue, { ledger: true }), await dueButHeldJob(queue, { ledger: true }), await dueButHeldJob(queue, { ledger: true })];
    const elsewhere = await dueButHeldJob(other, { ledger: true });
    const calls: { queue: string; messages: number }[] = [];
    const ns = env.QUEUE_SCHEDULER;
    const counting = {
      idFromName: (name: string) => ns.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = ns.get(id);
        return {
          claimMessages: (input: Parameters<typeof stub.claimMessages>[0]) => {
            calls.push({ queue: input.queue, messages: input.messages.length });
            return stub.claimMessages(input);
          },
          started: (input: Parameters<typeof stub.started>[0]) => stub.started(input),
          finish: (input: Parameters<typeof stub.finish>[0]) => stub.finish(input),
          heartbeat: (input: Parameters<typeof stub.heartbeat>[0]) => stub.heartbeat(input),
        };
      },
    };
    const result = await deliverBatch([...ids.map((id) => execMessage(queue, [[id, 0]])), execMessage(other, [[elsewhere, 0]])], {
      withEnv: { ...env, QUEUE_SCHEDULER: counting } as unknown as Env,
    });
    expect(result.explicitAcks).toHaveLength(4);
    expect(calls.sort((x, y) => y.messages - x.messages)).toEqual([{ queue, messages: 3 }, { queue: other, messages: 1 }]);
    for (const id of [...ids, elsewhere]) {
      expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "completed", attempts: 1 });
      expect(await ledgerRuns(id)).toEqual([{ attempt: 1, n: 1 }]);
    }
  });

  it("claims a job once when a second copy of the same dispatch arrives in the same batch", async () => {
    const queue = uniqueQueue();
    const ids = [await dueButHeldJob(queue, { ledger: true }), await dueButHeldJob(queue, { ledger: true })];
    const msg = execMessage(queue, ids.map((id) => [id, 0]));
    const result = await deliverBatch([msg, msg]);
    expect(result.explicitAcks).toHaveLength(2);
    for (const id of ids) expect(await ledgerRuns(id)).toEqual([{ attempt: 1, n: 1 }]);
  });

  it("does not ack a message when one job's end cannot be written though another's was, and doubles nothing", async () => {
    const queue = uniqueQueue();
    const fast = await dueButHeldJob(queue, { ledger: true, message: "fast" });
    const slow = await dueButHeldJob(queue, { ledger: true, sleepMs: 1500 }, { maxRetries: 0 });
    const msg = execMessage(queue, [[fast, 0], [slow, 0]]);
    const delivered = deliverBatch([msg], { withEnv: faultEnv });
    try {
      // The fast job's end is written on its own; then every write of the slow one's end fails.
      await waitFor(async () => (await api(`/jobs/${fast}`)).json.status === "completed", 5000, 20);
      failNextResultWrites(100);
      const result = await delivered;
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(1);
    } finally {
      failNextResultWrites(0);
    }
    expect((await api(`/jobs/${fast}`)).json).toMatchObject({ status: "completed", attempts: 1 });
    expect((await api(`/jobs/${slow}`)).json).toMatchObject({ status: "running", attempts: 1 });

    // The redelivered message claims neither job: one finished, the other still holds its lease.
    const again = await deliverBatch([msg], { attempts: 2 });
    expect(again.explicitAcks).toHaveLength(1);
    expect((await api(`/jobs/${slow}`)).json).toMatchObject({ status: "running", attempts: 1 });

    await expireLeaseOf(slow);
    await reconcile(env);
    expect(await waitForStatus(slow, ["completed", "failed"], 10_000)).toMatchObject({ status: "failed", attempts: 1 });
    expect(await ledgerRuns(fast)).toEqual([{ attempt: 1, n: 1 }]);
    expect(await ledgerRuns(slow)).toEqual([{ attempt: 1, n: 1 }]);
  });

  it("sends the whole message back when the claim fails, acking nothing", async () => {
    const queue = uniqueQueue();
    const ids = [await dueButHeldJob(queue), await dueButHeldJob(queue)];
    const unavailable = () => {
      throw new Error("scheduler unavailable");
    };
    const brokenSchedulers = { ...env, QUEUE_SCHEDULER: { idFromName: unavailable, get: unavailable } } as unknown as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const result = await deliverBatch([execMessage(queue, ids.map((id) => [id, 0]))], { withEnv: brokenSchedulers });
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(1);
    } finally {
      errors.mockRestore();
    }
    for (const id of ids) expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "pending", attempts: 0 });
  });
});

describe("exec message bodies", () => {
  it("still runs the one-job body of messages sent before, alone or beside a many-job message", async () => {
    const queue = uniqueQueue();
    const [old, a, b] = [await dueButHeldJob(queue), await dueButHeldJob(queue), await dueButHeldJob(queue)];
    const result = await deliverBatch([{ jobId: old, attempt: 0, queue }, execMessage(queue, [[a, 0], [b, 0]])]);
    expect(result.explicitAcks).toHaveLength(2);
    for (const id of [old, a, b]) expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "completed", attempts: 1 });
  });

  it("sends back, unacknowledged, a body with no jobs, a bad job entry, no token or no queue", async () => {
    const queue = uniqueQueue();
    const id = await dueButHeldJob(queue);
    const bad = [
      { queue, token: "t", jobs: [] },
      { queue, token: "t", jobs: [[id, -1]] },
      { queue, token: "t", jobs: [[id]] },
      { queue, token: "t", jobs: [["", 0]] },
      { queue, jobs: [[id, 0]] },
      { token: "t", jobs: [[id, 0]] },
      { queue, token: "t", jobs: Array.from({ length: 1001 }, () => [id, 0]) },
    ];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const result = await deliverBatch(bad);
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(bad.length);
    } finally {
      errors.mockRestore();
    }
    expect((await api(`/jobs/${id}`)).json).toMatchObject({ status: "pending", attempts: 0 });
  });
});

describe("a message's settlement", () => {
  const fakeMessage = () => {
    const calls: string[] = [];
    const message = { ack: () => calls.push("ack"), retry: (o?: QueueRetryOptions) => calls.push(`retry ${JSON.stringify(o ?? {})}`) } as unknown as Message<unknown>;
    return { message, calls };
  };

  it("acks once every job is done, and only then", () => {
    const { message, calls } = fakeMessage();
    const s = new MessageSettlement(message, 3);
    s.done();
    s.done();
    expect(calls).toEqual([]);
    s.done();
    s.done();
    expect(calls).toEqual(["ack"]);
  });

  it("sends the message back once all are settled if any job failed, whatever the order", () => {
    for (const order of [["failed", "done", "done"], ["done", "done", "failed"]] as const) {
      const { message, calls } = fakeMessage();
      const s = new MessageSettlement(message, 3);
      for (const step of order) s[step]();
      expect(calls).toEqual(["retry {}"]);
    }
  });
});
