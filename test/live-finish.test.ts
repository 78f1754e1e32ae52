import { describe, expect, it } from "vitest";
import { CANCELLED_WHILE_RUNNING } from "../src/model/attempt";
import { uniqueQueue } from "./helpers";
import { completed, newJob, withObject } from "./live-helpers";

describe("QueueScheduler finish: today's outcome rules", () => {
  it("a retry goes back to pending at its runAt with its history row; a later failure keeps the earlier result", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const job = newJob(queue);
      await object.create({ queue, jobs: [job] });
      await object.claim({ queue, token: "a", jobs: [[job.id, 0]] });
      const retryAt = Date.now() + 60_000;
      const first = await object.finish({
        queue,
        ended: [{ id: job.id, attempt: 1, outcome: { kind: "retry", error: "flaky", runAt: retryAt, result: '"partial"' }, logs: [], at: Date.now(), progress: { percent: 40, message: "half" } }],
      });
      expect(first.statuses).toEqual({ [job.id]: "pending" });
      let [detail] = (await object.get({ queue, ids: [job.id] })).jobs;
      expect(detail.job).toMatchObject({ status: "pending", runAt: retryAt, retryCount: 1, attempt: 1, result: '"partial"', error: "flaky", progress: 40, progressMessage: "half", leaseUntil: null, completedAt: null });
      expect(detail.attempts).toEqual([expect.objectContaining({ attempt: 1, status: "failed", error: "flaky", retryAt })]);
      // Not due yet: no claim; once moved to now it is claimable again from attempt 1.
      expect((await object.claim({ queue, token: "b", jobs: [[job.id, 1]] })).claimed).toEqual([]);
      expect(await object.requeue({ queue, id: job.id, from: ["pending"], runAt: Date.now(), resetRetryCount: false })).toMatchObject({ job: { runAt: expect.any(Number) } });
      expect((await object.claim({ queue, token: "b", jobs: [[job.id, 1]] })).claimed).toHaveLength(1);
      const second = await object.finish({ queue, ended: [{ id: job.id, attempt: 2, outcome: { kind: "failed", error: "gave up", result: null }, logs: [], at: Date.now(), progress: null }] });
      expect(second.statuses).toEqual({ [job.id]: "failed" });
      [detail] = (await object.get({ queue, ids: [job.id] })).jobs;
      expect(detail.job).toMatchObject({ status: "failed", result: '"partial"', error: "gave up", progress: null, retryCount: 1, attempt: 2 });
      expect(detail.job.completedAt).toEqual(expect.any(Number));
      expect(detail.attempts.map((a) => [a.attempt, a.status])).toEqual([[1, "failed"], [2, "failed"]]);
    });
  });

  it("completed keeps progress reported earlier; logs are kept per attempt; ends of attempts no longer running are ignored", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const job = newJob(queue);
      await object.create({ queue, jobs: [job] });
      await object.claim({ queue, token: "a", jobs: [[job.id, 0]] });
      await object.heartbeat({ queue, running: [{ id: job.id, attempt: 1, progress: { percent: 75, message: "almost" } }] });
      // An end for another attempt changes nothing.
      expect((await object.finish({ queue, ended: [completed(job.id, 2)] })).statuses).toEqual({});
      expect((await object.finish({ queue, ended: [completed(job.id, 1, '{"n":1}')] })).statuses).toEqual({ [job.id]: "completed" });
      const [detail] = (await object.get({ queue, ids: [job.id] })).jobs;
      expect(detail.job).toMatchObject({ status: "completed", result: '{"n":1}', error: null, progress: 75, progressMessage: "almost" });
      expect(detail.logs).toEqual([expect.objectContaining({ jobId: job.id, attempt: 1, message: `ran ${job.id}` })]);
      // Finishing again (a redelivered end) is ignored.
      expect((await object.finish({ queue, ended: [completed(job.id, 1)] })).statuses).toEqual({});
    });
  });

  it("a retry of a job whose cancel was requested ends it cancelled; a pending job is cancelled at once; an ended one is not cancellable", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const running = newJob(queue);
      const waiting = newJob(queue);
      await object.create({ queue, jobs: [running, waiting] });
      await object.claim({ queue, token: "a", jobs: [[running.id, 0]] });
      expect((await object.cancel({ queue, id: running.id })).result).toBe("requested");
      const { statuses } = await object.finish({
        queue,
        ended: [{ id: running.id, attempt: 1, outcome: { kind: "retry", error: "boom", runAt: Date.now(), result: '"kept?"' }, logs: [], at: Date.now(), progress: null }],
      });
      expect(statuses).toEqual({ [running.id]: "cancelled" });
      const [detail] = (await object.get({ queue, ids: [running.id] })).jobs;
      expect(detail.job).toMatchObject({ status: "cancelled", error: CANCELLED_WHILE_RUNNING, result: null, cancelRequested: 0, retryCount: 0 });
      expect(detail.attempts).toEqual([expect.objectContaining({ attempt: 1, status: "cancelled", error: "boom", retryAt: null })]);

      const cancelled = await object.cancel({ queue, id: waiting.id });
      expect(cancelled).toMatchObject({ result: "cancelled", job: { status: "cancelled", error: "Cancelled before it started." } });
      expect((await object.cancel({ queue, id: waiting.id })).result).toBe("not_cancellable");
      expect((await object.cancel({ queue, id: "job_not_here" })).result).toBe("not_live");
      expect(await object.stats({ queue })).toMatchObject({ pending: 0, running: 0, unflushed: 2 });
    });
  });
});
