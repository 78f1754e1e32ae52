import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { LOST_AFTER_MS } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";
import { liveRows, newJob, withObject } from "./live-helpers";

describe("QueueScheduler claim", () => {
  it("claims a dispatched job once, only under its dispatch's token and attempt", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      const job = newJob(queue);
      expect(await object.create({ queue, jobs: [job] })).toEqual({ created: [job.id], skipped: [] });
      expect(sent).toHaveLength(1);
      const [message] = sent;
      expect(message.jobs).toEqual([[job.id, 0]]);

      expect((await object.claim({ queue, token: "someone-else", jobs: [[job.id, 0]] })).claimed).toEqual([]);
      expect((await object.claim({ queue, token: message.token, jobs: [[job.id, 1]] })).claimed).toEqual([]);
      const { claimed } = await object.claim({ queue, token: message.token, jobs: [[job.id, 0], [job.id, 0]] });
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ id: job.id, status: "running", attempt: 1 });
      expect(claimed[0].executedAt).toBeGreaterThanOrEqual(job.createdAt);
      expect(claimed[0].leaseUntil).toBe(claimed[0].executedAt! + 10_000 + 30_000);
      // A redelivery of the same message claims nothing.
      expect((await object.claim({ queue, token: message.token, jobs: [[job.id, 0]] })).claimed).toEqual([]);
      expect((await object.status()).inflight).toBe(1);
    });
  });

  it("refuses a job that is not due yet, unknown ids, and a job whose cancel was requested; claims an undispatched due job under any token", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      await object.pause({ queue });
      const later = newJob(queue, { runAt: Date.now() + 60_000 });
      const now = newJob(queue);
      await object.create({ queue, jobs: [later, now] });
      expect(sent).toEqual([]);
      expect((await object.claim({ queue, token: "t", jobs: [[later.id, 0], ["job_unknown", 0]] })).claimed).toEqual([]);
      const { claimed } = await object.claim({ queue, token: "old-single-message", jobs: [[now.id, 0]] });
      expect(claimed.map((j) => j.id)).toEqual([now.id]);
      expect(await object.cancel({ queue, id: now.id })).toMatchObject({ result: "requested" });
      expect((await object.heartbeat({ queue, running: [{ id: now.id, attempt: 1 }] })).cancel).toEqual([now.id]);
      // The ended attempt's retry becomes a cancellation: a cancel request never goes back to pending.
      const { statuses } = await object.finish({ queue, ended: [{ id: now.id, attempt: 1, outcome: { kind: "retry", error: "boom", runAt: Date.now(), result: null }, logs: [], at: Date.now(), progress: null }] });
      expect(statuses).toEqual({ [now.id]: "cancelled" });
      expect((await object.claim({ queue, token: "t", jobs: [[now.id, 1]] })).claimed).toEqual([]);
    });
  });

  it("validates its input with zod and stores nothing for bad input", async () => {
    const queue = uniqueQueue();
    const stub = schedulerFor(env, queue);
    const failure = (call: Promise<unknown>) => call.then(() => null, (err: unknown) => String(err));
    expect(await failure(stub.claim({ queue, token: "", jobs: [] }))).toContain("ZodError");
    expect(await failure(stub.claim({ queue, token: "t", jobs: [["", 0]] }))).toContain("ZodError");
    expect(await failure(stub.create({ queue, jobs: [{ ...newJob(queue), priority: 7 }] }))).toContain("ZodError");
    expect(await failure(stub.finish({ queue, ended: [{ id: "x", attempt: 0, outcome: { kind: "completed", result: "1" }, logs: [], at: 1, progress: null }] }))).toContain("ZodError");
    expect((await stub.stats({ queue })).pending).toBe(0);
  });

  it("sends a dispatch again when its claim has not come within LOST_AFTER_MS; the lost message then claims nothing", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      const job = newJob(queue);
      await object.create({ queue, jobs: [job] });
      const [lost] = sent.splice(0);
      await object.alarm();
      expect(sent).toEqual([]);
      vi.useFakeTimers({ toFake: ["Date"] });
      try {
        vi.setSystemTime(Date.now() + LOST_AFTER_MS + 1000);
        await object.alarm();
      } finally {
        vi.useRealTimers();
      }
      expect(sent).toHaveLength(1);
      const [again] = sent;
      expect(again.jobs).toEqual([[job.id, 0]]);
      expect(again.token).not.toBe(lost.token);
      expect((await object.claim({ queue, token: lost.token, jobs: lost.jobs })).claimed).toEqual([]);
      expect((await object.claim({ queue, token: again.token, jobs: again.jobs })).claimed).toHaveLength(1);
    });
  });

  it("claims several messages in one call as one journal row, each job once, each message's own jobs only", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 100 });
      const jobs = Array.from({ length: 3 }, () => newJob(queue));
      for (const job of jobs) await object.create({ queue, jobs: [job] });
      expect(sent).toHaveLength(3);
      const [a, b, c] = sent;
      const journalRows = () => liveRows(state.storage.sql).filter((r) => r.kind === "j").length;
      const before = journalRows();
      const { claimed } = await object.claimMessages({
        queue,
        messages: [
          a,
          // A second copy of the same dispatch in the same batch claims nothing more.
          a,
          // A message that names another dispatch's job claims nothing of it.
          { token: b.token, jobs: [...b.jobs, ...c.jobs] },
          c,
        ],
      });
      expect(claimed.map((list) => list.map((j) => j.id))).toEqual([[jobs[0].id], [], [jobs[1].id], [jobs[2].id]]);
      for (const job of claimed.flat()) expect(job).toMatchObject({ status: "running", attempt: 1 });
      expect(journalRows() - before).toBe(1);
      expect(object.status()).toMatchObject({ inflight: 3, due: 0 });
      // A redelivery of the whole batch claims nothing.
      expect((await object.claimMessages({ queue, messages: [a, b, c] })).claimed).toEqual([[], [], []]);
    });
  });
});
