import { describe, expect, it } from "vitest";
import { uniqueQueue } from "./helpers";
import { completed, countSetAlarm, liveRows, newJob, restarted, storedRows, withObject } from "./live-helpers";
import type { QueueScheduler } from "../src/scheduler/queue-scheduler";
import type { ExecMessage } from "../src/scheduler/messages";

/** Claims, starts and finishes every sent message's jobs, one call of each per message, as the consumer does. */
async function runAll(object: QueueScheduler, queue: string, sent: ExecMessage[]) {
  for (const m of sent.splice(0)) {
    const { claimed } = await object.claim({ queue, token: m.token, jobs: m.jobs });
    await object.started({ queue, attempts: claimed.map((j) => ({ id: j.id, attempt: j.attempt })) });
    await object.finish({ queue, ended: claimed.map((j) => completed(j.id, j.attempt)) });
  }
}

describe("QueueScheduler storage cost", () => {
  it("writes well under one SQLite row per job for a create-100 / claim / start / finish / flush cycle, and leaves none behind", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 100 });
      const before = (await object.stats({ queue })).rowsWritten;
      const jobs = Array.from({ length: 100 }, () => newJob(queue));
      await object.create({ queue, jobs });
      expect(sent).toHaveLength(4);
      await runAll(object, queue, sent);
      expect(await object.flush({ queue })).toEqual({ archived: 100 });
      const rows = (await object.stats({ queue })).rowsWritten - before;
      console.log(`live store, batch of 100: ${rows} SQLite rows written, ${(rows / 100).toFixed(2)} per job`);
      expect(rows / 100).toBeLessThan(0.5);
      expect(storedRows(state.storage.sql)).toBe(0);
    });
  });

  it("one by one (a create call, a message, a claim and a finish per job): about three rows per job", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      await object.configure({ queue, workers: 100 });
      const before = (await object.stats({ queue })).rowsWritten;
      for (let i = 0; i < 100; i++) await object.create({ queue, jobs: [newJob(queue)] });
      await runAll(object, queue, sent);
      await object.flush({ queue });
      const rows = (await object.stats({ queue })).rowsWritten - before;
      console.log(`live store, 100 single creates: ${rows} SQLite rows written, ${(rows / 100).toFixed(2)} per job`);
      expect(rows / 100).toBeLessThan(3.5);
    });
  });

  it("single creates arriving together share one segment row and their dispatch", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 100 });
      const before = (await object.stats({ queue })).rowsWritten;
      const results = await Promise.all(Array.from({ length: 100 }, () => object.create({ queue, jobs: [newJob(queue)] })));
      expect(results.every((r) => r.created.length === 1)).toBe(true);
      const segments = liveRows(state.storage.sql).filter((r) => r.kind === "s").length;
      expect(segments).toBeLessThan(10);
      expect(sent.flatMap((m) => m.jobs)).toHaveLength(100);
      const messages = sent.length;
      await runAll(object, queue, sent);
      await object.flush({ queue });
      const rows = (await object.stats({ queue })).rowsWritten - before;
      console.log(`live store, 100 concurrent single creates: ${segments} segment rows, ${messages} messages, ${rows} SQLite rows written, ${(rows / 100).toFixed(2)} per job`);
      expect(rows / 100).toBeLessThan(0.5);
    });
  });

  it("sets the alarm a few times for 600 jobs created, claimed and finished, not once per job (an alarm already due is left as it is)", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 1000 });
      const alarms = countSetAlarm(state);
      try {
        for (let i = 0; i < 6; i++) await object.create({ queue, jobs: Array.from({ length: 100 }, () => newJob(queue)) });
        // Past ARCHIVE_FLUSH_JOBS ended jobs the flush is due at once: every later change used to set the alarm again.
        await runAll(object, queue, sent);
        console.log(`600 jobs: ${alarms.calls} setAlarm calls`);
        expect(alarms.calls).toBeLessThanOrEqual(6);
        const due = await state.storage.getAlarm();
        expect(due).not.toBeNull();
        expect(due!).toBeLessThanOrEqual(Date.now());
        expect(await object.flush({ queue })).toEqual({ archived: 600 });
      } finally {
        alarms.restore();
      }
    });
  });

  it("waits with the flush until it would be full (500 ended jobs or 1,500 events) or a second has passed, not at 500 jobs and events together", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 1000 });
      // 200 jobs run to their end: 200 ended jobs and 600 events wait, a third of a flush.
      for (let i = 0; i < 2; i++) await object.create({ queue, jobs: Array.from({ length: 100 }, () => newJob(queue)) });
      await runAll(object, queue, sent);
      const partial = await state.storage.getAlarm();
      expect(partial).not.toBeNull();
      expect(partial!).toBeGreaterThan(Date.now() + 500);
      // 300 more: 500 ended jobs fill a flush, which is due at once.
      for (let i = 0; i < 3; i++) await object.create({ queue, jobs: Array.from({ length: 100 }, () => newJob(queue)) });
      await runAll(object, queue, sent);
      const full = await state.storage.getAlarm();
      expect(full).not.toBeNull();
      expect(full!).toBeLessThanOrEqual(Date.now());
      expect(await object.flush({ queue })).toEqual({ archived: 500 });
    });
  });

  it("while due jobs wait for a slot, a full flush waits for the backlog to be handed out (up to four flushes' worth), then is due at once", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 100 });
      for (let i = 0; i < 7; i++) await object.create({ queue, jobs: Array.from({ length: 100 }, () => newJob(queue)) });
      // 100 at a time (the queue's slots): after 5 rounds 500 jobs ended, 100 are dispatched and 100 still due.
      for (let round = 0; round < 5; round++) await runAll(object, queue, sent);
      expect((await object.stats({ queue })).due).toBe(100);
      const deferred = await state.storage.getAlarm();
      expect(deferred).not.toBeNull();
      expect(deferred!).toBeGreaterThan(Date.now() + 500);
      for (let round = 0; round < 2; round++) await runAll(object, queue, sent);
      expect((await object.stats({ queue })).due).toBe(0);
      const due = await state.storage.getAlarm();
      expect(due!).toBeLessThanOrEqual(Date.now());
      expect(await object.flush({ queue })).toEqual({ archived: 700 });
    });
  });

  it("single creates arriving a few ms apart share a segment row; after a restart every acknowledged job is there and runs exactly once", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 100 });
      const segments = () => liveRows(state.storage.sql).filter((r) => r.kind === "s").length;
      const before = segments();
      const jobs = Array.from({ length: 8 }, () => newJob(queue));
      // Staggered, as requests sent together reach the object: each would otherwise commit alone.
      const results = await Promise.all(jobs.map((job, i) => new Promise((r) => setTimeout(r, i % 3)).then(() => object.create({ queue, jobs: [job] }))));
      expect(results.map((r) => r.created)).toEqual(jobs.map((j) => [j.id]));
      const written = segments() - before;
      console.log(`8 staggered single creates: ${written} segment rows, ${sent.length} messages`);
      expect(written).toBeLessThanOrEqual(2);

      // The object dies after the replies: a new instance rebuilds every acknowledged job from the segment.
      const resent: typeof sent = [];
      const fresh = restarted(state, resent);
      const held = await fresh.get({ queue, ids: jobs.map((j) => j.id) });
      expect(held.jobs.map((d) => d.job.id).sort()).toEqual(jobs.map((j) => j.id).sort());
      for (const d of held.jobs) expect(d.job.status).toBe("pending");
      await fresh.alarm();
      expect(resent.flatMap((m) => m.jobs.map(([id]) => id)).sort()).toEqual(jobs.map((j) => j.id).sort());
      await runAll(fresh, queue, resent);
      // The first instance's messages claim nothing now: every job ran once.
      for (const m of sent) expect((await fresh.claim({ queue, token: m.token, jobs: m.jobs })).claimed).toEqual([]);
      const done = await fresh.get({ queue, ids: jobs.map((j) => j.id) });
      for (const d of done.jobs) expect(d.job).toMatchObject({ status: "completed", attempt: 1 });
    });
  });
});
