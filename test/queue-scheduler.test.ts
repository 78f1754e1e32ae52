import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { MAX_JOBS_PER_MESSAGE } from "../src/scheduler/messages";
import type { QueueScheduler } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";
import { newJob, restarted, withObject } from "./live-helpers";

const settingsOf = (queue: string) =>
  runInDurableObject(schedulerFor(env, queue), async (_instance: QueueScheduler, state) =>
    Object.fromEntries(state.storage.sql.exec(`SELECT key, value FROM settings`).toArray().map((r) => [r.key, r.value])),
  );

/** The error an RPC call failed with (caught at once, so the rejection is never left unhandled). */
const failure = (call: Promise<unknown>) => call.then(() => null, (err: unknown) => err);

describe("QueueScheduler settings RPCs", () => {
  it("refuses bad arguments (zod) and keeps its settings", async () => {
    const queue = uniqueQueue();
    const stub = schedulerFor(env, queue);
    expect(String(await failure(stub.configure({ queue, workers: -1 })))).toContain("ZodError");
    expect(String(await failure(stub.configure({ queue, workers: 0 })))).toContain("ZodError");
    expect(String(await failure(stub.configure({ queue, rateLimit: { limit: 5, intervalMs: 0 } })))).toContain("ZodError");
    expect(String(await failure(stub.pause({ queue: "" })))).toContain("ZodError");
    expect(String(await failure(stub.remove({ queue, ids: [""] })))).toContain("ZodError");
    expect(await stub.status()).toMatchObject({ paused: false, workers: 10, rateLimit: null, version: 0 });
  });

  it("keeps the pause state in its own SQLite storage and versions every change", async () => {
    const queue = uniqueQueue();
    const stub = schedulerFor(env, queue);
    expect((await stub.pause({ queue })).changed).toBe(true);
    expect((await stub.pause({ queue })).changed).toBe(false);
    expect(await settingsOf(queue)).toMatchObject({ queue, paused: "1", version: "1" });
    const configured = await stub.configure({ queue, workers: 4, rateLimit: { limit: 2, intervalMs: 1000 } });
    expect(configured).toMatchObject({ paused: true, workers: 4, rateLimit: { limit: 2, intervalMs: 1000 }, version: 2 });
    expect((await stub.resume({ queue })).status).toMatchObject({ paused: false, version: 3 });
    expect(await settingsOf(queue)).toMatchObject({ paused: "0", workers: "4" });
  });

  it("with the rate limit used up, leaves due work waiting and arms the alarm for when the window frees", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 50, rateLimit: { limit: 3, intervalMs: 10_000 } });
      const before = Date.now();
      await object.create({ queue, jobs: Array.from({ length: 5 }, () => newJob(queue)) });
      const after = Date.now();
      expect(sent.flatMap((m) => m.jobs)).toHaveLength(3);
      expect((await object.status()).due).toBe(2);
      const alarm = await state.storage.getAlarm();
      expect(state.storage.sql.exec(`SELECT at FROM starts`).toArray()).toHaveLength(3);
      expect(alarm).toBeGreaterThanOrEqual(before + 10_000);
      expect(alarm).toBeLessThanOrEqual(after + 10_000);

      await object.configure({ queue, rateLimit: null });
      expect((await object.status()).due).toBe(0);
      expect(sent.flatMap((m) => m.jobs)).toHaveLength(5);
    });
  });
});

describe("QueueScheduler dispatch", () => {
  it("packs due jobs into messages of MAX_JOBS_PER_MESSAGE, most urgent first, within the workers limit; the rest go as slots free", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      await object.pause({ queue });
      await object.configure({ queue, workers: 30 });
      const low = Array.from({ length: 20 }, () => newJob(queue, { priority: 0 }));
      const high = Array.from({ length: 20 }, () => newJob(queue, { priority: 2 }));
      const later = newJob(queue, { priority: 2, runAt: Date.now() + 60_000 });
      await object.create({ queue, jobs: [...low, later] });
      await object.create({ queue, jobs: high });
      expect(sent).toEqual([]);
      await object.resume({ queue });
      const dispatched = sent.flatMap((m) => m.jobs.map(([id]) => id));
      expect(sent.map((m) => m.jobs.length)).toEqual([MAX_JOBS_PER_MESSAGE, 30 - MAX_JOBS_PER_MESSAGE]);
      expect(dispatched.slice(0, 20)).toEqual(high.map((j) => j.id));
      expect(dispatched.slice(20)).toEqual(low.slice(0, 10).map((j) => j.id));
      expect(dispatched).not.toContain(later.id);
      expect(await object.status()).toMatchObject({ inflight: 30, due: 11 });

      // Claiming a message keeps its slots busy; finishing its jobs frees them for the next ones.
      const first = sent[0];
      const { claimed } = await object.claim({ queue, token: first.token, jobs: first.jobs });
      expect(claimed).toHaveLength(MAX_JOBS_PER_MESSAGE);
      sent.length = 0;
      await object.finish({ queue, ended: claimed.slice(0, 5).map((j) => ({ id: j.id, attempt: j.attempt, outcome: { kind: "completed", result: "1" }, logs: [], at: Date.now(), progress: null })) });
      await new Promise((r) => setTimeout(r, 50));
      expect(sent.flatMap((m) => m.jobs.map(([id]) => id))).toEqual(low.slice(10, 15).map((j) => j.id));
    });
  });

  it("a recurring occurrence already created is skipped, also after its job left the object", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object) => {
      await object.pause({ queue });
      const occurrence = { recurringId: "rec_1", scheduledFor: 1_700_000_000_000 };
      const first = newJob(queue, occurrence);
      expect(await object.create({ queue, jobs: [first] })).toEqual({ created: [first.id], skipped: [] });
      const again = newJob(queue, occurrence);
      expect(await object.create({ queue, jobs: [again] })).toEqual({ created: [], skipped: [again.id] });
      await object.remove({ queue, ids: [first.id] });
      expect(await object.create({ queue, jobs: [newJob(queue, occurrence)] })).toMatchObject({ created: [] });
      expect(await object.create({ queue, jobs: [newJob(queue, { ...occurrence, scheduledFor: occurrence.scheduledFor + 60_000 })] })).toMatchObject({ created: [expect.any(String)] });
    });
  });
});

describe("QueueScheduler storage migration", () => {
  it("an object made by the previous engine keeps its settings and rate window and drops its due and inflight tables", async () => {
    const queue = uniqueQueue();
    await runInDurableObject(schedulerFor(env, queue), async (_instance: QueueScheduler, state) => {
      const sql = state.storage.sql;
      // The layout at version 5: due (ordered index), the one-row inflight set, starts, settings.
      sql.exec(`DELETE FROM schema_version WHERE version > 5`);
      sql.exec(`DROP TABLE recurring_slots`);
      sql.exec(`CREATE TABLE due (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, run_at INTEGER NOT NULL, priority INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID`);
      sql.exec(`CREATE INDEX due_order ON due (priority, run_at, seq)`);
      sql.exec(`INSERT INTO due VALUES ('job_old', 0, 1, 1, 1)`);
      sql.exec(`CREATE TABLE inflight_set (id INTEGER PRIMARY KEY CHECK (id = 1), entries TEXT NOT NULL)`);
      sql.exec(`INSERT INTO inflight_set VALUES (1, '[["job_x",0,1]]')`);
      sql.exec(`INSERT OR REPLACE INTO settings (key, value) VALUES ('queue', ?), ('paused', '1'), ('workers', '7'), ('version', '4')`, queue);
      sql.exec(`INSERT INTO starts (job_id, at) VALUES ('job_x', ?)`, Date.now());

      const object = restarted(state);
      const tables = sql.exec(`SELECT name FROM sqlite_master WHERE type = 'table'`).toArray().map((r) => r.name);
      expect(tables).not.toContain("due");
      expect(tables).not.toContain("inflight_set");
      expect(tables).toEqual(expect.arrayContaining(["settings", "starts", "recurring_slots"]));
      expect(object.status()).toMatchObject({ queue, paused: true, workers: 7, version: 4, due: 0, inflight: 0 });
    });
  });
});
