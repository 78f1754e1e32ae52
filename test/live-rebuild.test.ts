import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { JobRowSchema } from "../src/db/job-row";
import { CANCELLED_WHILE_RUNNING, LEASE_EXPIRED, LEASE_EXPIRED_BEFORE_START } from "../src/model/attempt";
import { schedulerFor } from "../src/scheduler/client";
import { ARCHIVE_FLUSH_MS } from "../src/scheduler/queue-scheduler";
import { uniqueQueue, waitFor } from "./helpers";
import { completed, liveRows, newJob, restarted, restoreLiveRow, storedRows, withObject } from "./live-helpers";

describe("QueueScheduler storage: rebuild after eviction", () => {
  it("a new instance over the same storage holds the same jobs in the same states, and keeps refusing what was claimed", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, _sent, state) => {
      await object.pause({ queue });
      const [pending, running, done, retrying] = [newJob(queue), newJob(queue, { priority: 2 }), newJob(queue), newJob(queue)];
      await object.create({ queue, jobs: [pending, running] });
      await object.create({ queue, jobs: [done, retrying] });
      await object.claim({ queue, token: "a", jobs: [[running.id, 0], [done.id, 0], [retrying.id, 0]] });
      await object.started({ queue, attempts: [{ id: running.id, attempt: 1 }] });
      await object.finish({
        queue,
        ended: [completed(done.id, 1), { id: retrying.id, attempt: 1, outcome: { kind: "retry", error: "again", runAt: Date.now() + 3_600_000, result: null }, logs: [], at: Date.now(), progress: null }],
      });
      const ids = [pending.id, running.id, done.id, retrying.id];
      const before = await object.get({ queue, ids });
      const listed = await object.list({ queue, filter: {}, limit: 10 });
      const stats = await object.stats({ queue });

      const fresh = restarted(state);
      expect(await fresh.get({ queue, ids })).toEqual(before);
      expect(await fresh.list({ queue, filter: {}, limit: 10 })).toEqual(listed);
      expect(await fresh.list({ queue, filter: { status: "pending" }, limit: 1 })).toEqual({ rows: [expect.objectContaining({ status: "pending" })], total: 2 });
      expect(await fresh.stats({ queue })).toMatchObject({ pending: stats.pending, running: 1, unflushed: 1, paused: true, due: 2 });
      expect((await fresh.claim({ queue, token: "a", jobs: [[running.id, 0], [done.id, 0]] })).claimed).toEqual([]);
      // The handler-started mark survived: an expired lease counts as a retry.
      await fresh.extendLease({ queue, id: running.id, attempt: 1, leaseUntil: Date.now() - 1 });
      await fresh.alarm();
      const [after] = (await fresh.get({ queue, ids: [running.id] })).jobs;
      expect(after.job).toMatchObject({ status: "pending", retryCount: 1, error: LEASE_EXPIRED });
    });
  });
});

describe("QueueScheduler storage: entries larger than a row", () => {
  it("stores a group of large results across several rows and reads it back whole, multi-byte characters included", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, _sent, state) => {
      await object.pause({ queue });
      const jobs = Array.from({ length: 25 }, () => newJob(queue));
      await object.create({ queue, jobs });
      await object.claim({ queue, token: "a", jobs: jobs.map((j) => [j.id, 0] as [string, number]) });
      // 25 results of about 128 KB, with characters of 2, 3 and 4 bytes: far over the 2 MB row limit.
      const result = (i: number) => JSON.stringify("é€😀".repeat(10_000) + i);
      await object.finish({ queue, ended: jobs.map((j, i) => completed(j.id, 1, result(i))) });
      expect(liveRows(state.storage.sql).filter((r) => r.kind === "p").length).toBeGreaterThan(0);
      const fresh = restarted(state);
      const detail = await fresh.get({ queue, ids: jobs.map((j) => j.id) });
      expect(detail.jobs.map((d) => d.job.result)).toEqual(jobs.map((_, i) => result(i)));
      expect(await fresh.flush({ queue })).toEqual({ archived: 25 });
      expect(await d1Job(jobs[24].id)).toMatchObject({ status: "completed", result: result(24) });
    });
  });
});

describe("QueueScheduler lease expiry", () => {
  it("retries a started attempt (a retry used), puts back an unstarted one at once (none used), fails the last, cancels a cancel-requested one", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const started = newJob(queue);
      const unstarted = newJob(queue);
      const last = newJob(queue, { maxRetries: 0 });
      const cancelled = newJob(queue);
      const ids = [started.id, unstarted.id, last.id, cancelled.id];
      await object.create({ queue, jobs: [started, unstarted, last, cancelled] });
      await object.claim({ queue, token: "a", jobs: ids.map((id) => [id, 0] as [string, number]) });
      await object.started({ queue, attempts: [started.id, last.id, cancelled.id].map((id) => ({ id, attempt: 1 })) });
      await object.cancel({ queue, id: cancelled.id });
      for (const id of ids) expect(await object.extendLease({ queue, id, attempt: 1, leaseUntil: Date.now() - 1 })).toEqual({ extended: true });
      const at = Date.now();
      await object.alarm();
      const byId = new Map((await object.get({ queue, ids })).jobs.map((d) => [d.job.id, d]));
      expect(byId.get(started.id)!.job).toMatchObject({ status: "pending", retryCount: 1, error: LEASE_EXPIRED, leaseUntil: null });
      expect(byId.get(started.id)!.job.runAt).toBeGreaterThan(at);
      expect(byId.get(started.id)!.attempts).toEqual([expect.objectContaining({ attempt: 1, status: "failed", error: LEASE_EXPIRED, retryAt: byId.get(started.id)!.job.runAt })]);
      expect(byId.get(unstarted.id)!.job).toMatchObject({ status: "pending", retryCount: 0, error: LEASE_EXPIRED_BEFORE_START });
      expect(byId.get(unstarted.id)!.job.runAt).toBeLessThanOrEqual(Date.now());
      expect(byId.get(last.id)!.job).toMatchObject({ status: "failed", error: LEASE_EXPIRED });
      expect(byId.get(cancelled.id)!.job).toMatchObject({ status: "cancelled", error: CANCELLED_WHILE_RUNNING, cancelRequested: 0 });
      // The unstarted one claims again from attempt 1; the old attempt's end is ignored.
      expect((await object.finish({ queue, ended: [completed(unstarted.id, 1)] })).statuses).toEqual({});
      expect((await object.claim({ queue, token: "b", jobs: [[unstarted.id, 1]] })).claimed).toEqual([expect.objectContaining({ attempt: 2 })]);
    });
  });
});

const d1Job = (id: string) => env.DB.prepare(`SELECT status, attempt, result FROM jobs WHERE id = ?`).bind(id).first<{ status: string; attempt: number; result: string | null }>();
const totals = (queue: string) => env.DB.prepare(`SELECT completed FROM job_totals WHERE queue = ?`).bind(queue).first<{ completed: number }>();
const completedCount = (queue: string) => env.DB.prepare(`SELECT n FROM job_counts WHERE queue = ? AND status = 'completed'`).bind(queue).first<{ n: number }>();

describe("QueueScheduler flush to the D1 archive", () => {
  it("writes each ended job once; a flush replayed after a crash (same seq, same content) changes nothing", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, _sent, state) => {
      await object.pause({ queue });
      const jobs = [newJob(queue), newJob(queue)];
      await object.create({ queue, jobs });
      await object.claim({ queue, token: "a", jobs: jobs.map((j) => [j.id, 0] as [string, number]) });
      await object.finish({ queue, ended: jobs.map((j) => completed(j.id, 1)) });
      expect(await d1Job(jobs[0].id)).toBeNull();

      const flushing = object.flush({ queue });
      // The flush is journaled before it is sent: this row is what a restarted object would re-send.
      const flushRow = liveRows(state.storage.sql).find((r) => r.data.startsWith('{"flush":'))!;
      expect(flushRow).toBeDefined();
      expect(await flushing).toEqual({ archived: 2 });
      expect(await d1Job(jobs[0].id)).toMatchObject({ status: "completed", attempt: 1, result: '{"ok":true}' });
      expect(await completedCount(queue)).toEqual({ n: 2 });
      expect(await totals(queue)).toEqual({ completed: 2 });
      // Nothing left to hold: the whole log went with the flush.
      expect(storedRows(state.storage.sql)).toBe(0);
      expect((await object.get({ queue, ids: [jobs[0].id] })).jobs).toEqual([]);

      // Crash between the D1 batch and the transaction that records it done: the flush row is all there is.
      restoreLiveRow(state.storage.sql, flushRow);
      const fresh = restarted(state);
      expect(await fresh.flush({ queue })).toEqual({ archived: 2 });
      expect(await completedCount(queue)).toEqual({ n: 2 });
      // The events of the replayed flush (metric rollups here) are not counted again.
      expect(await totals(queue)).toEqual({ completed: 2 });
      expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM archive_flushes WHERE queue = ?`).bind(queue).first()).toEqual({ n: 1 });
      expect(storedRows(state.storage.sql)).toBe(0);
      expect((await fresh.get({ queue, ids: jobs.map((j) => j.id) })).jobs).toEqual([]);
    });
  });

  it("flushes by itself (its alarm) about ARCHIVE_FLUSH_MS after a job ended", async () => {
    const queue = uniqueQueue();
    const stub = schedulerFor(env, queue);
    await stub.pause({ queue });
    const job = newJob(queue);
    await stub.create({ queue, jobs: [job] });
    await stub.claim({ queue, token: "a", jobs: [[job.id, 0]] });
    const ended = Date.now();
    await stub.finish({ queue, ended: [completed(job.id, 1)] });
    await waitFor(async () => (await d1Job(job.id))?.status === "completed", 10_000);
    expect(Date.now() - ended).toBeGreaterThanOrEqual(ARCHIVE_FLUSH_MS - 50);
    expect((await stub.stats({ queue })).unflushed).toBe(0);
  });

  it("drops rows only after the flush that archived their jobs; archived jobs stay gone after a rebuild, held ones survive the log's replacement", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, _sent, state) => {
      await object.pause({ queue });
      const [done, waiting] = [newJob(queue), newJob(queue, { runAt: Date.now() + 3_600_000 })];
      await object.create({ queue, jobs: [done, waiting] });
      await object.claim({ queue, token: "a", jobs: [[done.id, 0]] });
      await object.finish({ queue, ended: [completed(done.id, 1)] });
      expect(storedRows(state.storage.sql)).toBe(3);
      expect(await d1Job(done.id)).toBeNull();

      await object.flush({ queue });
      expect(await d1Job(done.id)).toMatchObject({ status: "completed" });
      // A job is still held, and the log is small: it is kept, with a row saying the archived job left.
      const rows = liveRows(state.storage.sql);
      expect(JSON.parse(rows.at(-1)!.data)).toMatchObject({ gone: [done.id] });
      const waitingBefore = await object.get({ queue, ids: [waiting.id] });
      expect((await restarted(state).get({ queue, ids: [done.id, waiting.id] })).jobs.map((d) => d.job.id)).toEqual([waiting.id]);

      // Removed jobs are never flushed: once the log has grown enough, the removal itself replaces it.
      const growLog = async () => {
        for (let i = 0; i < 70; i++) await object.create({ queue, jobs: [newJob(queue, { runAt: Date.now() + 3_600_000 })] });
        expect(storedRows(state.storage.sql)).toBeGreaterThan(64);
      };
      await growLog();
      const extra = (await object.list({ queue, filter: {}, limit: 100 })).rows.filter((r) => r.id !== waiting.id).map((r) => r.id);
      await object.remove({ queue, ids: extra.slice(1) });
      expect(storedRows(state.storage.sql)).toBe(1);
      expect((await restarted(state).list({ queue, filter: {}, limit: 100 })).rows.map((r) => r.id).sort()).toEqual([waiting.id, extra[0]].sort());

      // Once the log has grown enough, the next flush replaces it by a snapshot of what is held.
      await growLog();
      const last = extra[0];
      await object.requeue({ queue, id: last, from: ["pending"], runAt: Date.now(), resetRetryCount: false });
      await object.claim({ queue, token: "b", jobs: [[last, 0]] });
      await object.finish({ queue, ended: [completed(last, 1)] });
      expect(storedRows(state.storage.sql)).toBeGreaterThan(64);
      await object.flush({ queue });
      expect(storedRows(state.storage.sql)).toBe(1);
      const fresh = restarted(state);
      expect(await fresh.get({ queue, ids: [waiting.id] })).toEqual(waitingBefore);
      expect((await fresh.list({ queue, filter: {}, limit: 100 })).total).toBe(71);
      expect(await d1Job(last)).toMatchObject({ status: "completed" });
    });
  });

  it("a requeued ended job is archived first, then revived; its archive row is overwritten when it ends again", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const job = newJob(queue);
      await object.create({ queue, jobs: [job] });
      await object.claim({ queue, token: "a", jobs: [[job.id, 0]] });
      await object.finish({ queue, ended: [{ id: job.id, attempt: 1, outcome: { kind: "failed", error: "no", result: null }, logs: [], at: Date.now(), progress: null }] });
      expect(await object.requeue({ queue, id: job.id, from: ["completed"], runAt: Date.now(), resetRetryCount: true })).toEqual({ error: "conflict", status: "failed" });
      // The first call archived it; the caller passes the archived row, as a read by id finds it.
      const archived = JobRowSchema.parse(await env.DB.prepare(`SELECT * FROM jobs WHERE id = ?`).bind(job.id).first());
      expect(await object.requeue({ queue, id: job.id, from: ["failed"], runAt: Date.now(), resetRetryCount: true })).toEqual({ error: "not_found" });
      const revived = await object.requeue({ queue, id: job.id, from: ["failed", "cancelled"], runAt: Date.now(), resetRetryCount: true, archived });
      expect(revived).toMatchObject({ job: { status: "pending", attempt: 1, completedAt: null } });
      expect(await d1Job(job.id)).toMatchObject({ status: "failed" });
      await object.claim({ queue, token: "b", jobs: [[job.id, 1]] });
      await object.finish({ queue, ended: [completed(job.id, 2)] });
      await object.flush({ queue });
      expect(await d1Job(job.id)).toMatchObject({ status: "completed", attempt: 2 });
      // The revived job's flush looked for its archived row: it left the failed count.
      const counts = await env.DB.prepare(`SELECT status, n FROM job_counts WHERE queue = ? ORDER BY status`).bind(queue).all();
      expect(counts.results).toEqual([
        { status: "completed", n: 1 },
        { status: "failed", n: 0 },
      ]);
      const attempts = await env.DB.prepare(`SELECT attempt, status FROM job_attempts WHERE job_id = ? ORDER BY attempt`).bind(job.id).all();
      expect(attempts.results).toEqual([{ attempt: 1, status: "failed" }, { attempt: 2, status: "completed" }]);
      // A job that is not live and has no archived row: not found.
      expect(await object.requeue({ queue, id: "job_nowhere", from: ["failed"], runAt: Date.now(), resetRetryCount: false })).toEqual({ error: "not_found" });
    });
  });
});
