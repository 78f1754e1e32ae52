import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { migrateSqlite } from "../src/lib/sqlite-migrations";
import { REPLAY_BUFFER_BYTES, REPLAY_BUFFER_CHUNKS, REPLAY_BUFFER_SCHEMA, ReplayBuffer } from "../src/realtime/replay-buffer";
import { INFLIGHT_SET_MIGRATION } from "../src/scheduler/inflight";

// Each test rebuilds the older layout inside a fresh object's storage, then runs the step that
// moves it to the current one, as an object created before the change does on its next start.
describe("Durable Object storage migrations", () => {
  it("moves a scheduler's per-row inflight table into the one-row set, keeping every entry", async () => {
    const stub = env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(`migrate-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      // The current layout no longer has the set (the scheduler keeps dispatches in memory).
      sql.exec(`DROP TABLE IF EXISTS inflight_set`);
      sql.exec(`CREATE TABLE inflight (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, dispatched_at INTEGER NOT NULL) WITHOUT ROWID`);
      sql.exec(`INSERT INTO inflight VALUES ('job_a', 0, 100), ('job_b', 2, 200)`);
      for (const stmt of INFLIGHT_SET_MIGRATION) sql.exec(stmt);
      const [row] = sql.exec(`SELECT entries FROM inflight_set WHERE id = 1`).toArray();
      expect(JSON.parse(String(row.entries))).toEqual([
        ["job_a", 0, 100],
        ["job_b", 2, 200],
      ]);
      expect(sql.exec(`SELECT name FROM sqlite_master WHERE name = 'inflight'`).toArray()).toEqual([]);
    });
  });

  it("moves the hub's per-message replay rows into chunks, with the same seq numbers", async () => {
    const stub = env.REALTIME_HUB.get(env.REALTIME_HUB.idFromName(`migrate-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE message_chunks`);
      for (const stmt of REPLAY_BUFFER_SCHEMA) sql.exec(stmt);
      for (const seq of [7, 8, 9]) {
        sql.exec(`INSERT INTO messages VALUES (?, 'job-status', 'mail', ?, 'echo', ?)`, seq, `job_${seq}`, JSON.stringify({ seq }));
      }
      sql.exec(`INSERT INTO counters VALUES ('seq', 9)`);
      for (const stmt of [...REPLAY_BUFFER_CHUNKS, ...REPLAY_BUFFER_BYTES]) sql.exec(stmt);
      const buffer = new ReplayBuffer(sql);
      expect(buffer.latestSeq).toBe(9);
      expect(buffer.oldestSeq()).toBe(7);
      const replay = buffer.since(7, () => true);
      expect(replay).toEqual({ kind: "ok", messages: [8, 9].map((seq) => ({ seq, topic: "job-status", queue: "mail", jobId: `job_${seq}`, jobType: "echo", json: JSON.stringify({ seq }) })) });
      const [next] = buffer.append([{ topic: "job-status", data: {}, timestamp: new Date().toISOString(), queue: null, jobId: null, jobType: null }]);
      expect(next.seq).toBe(10);
    });
  });

  it("applies each version in one transaction: a failing statement leaves the previous version, not half of this one", async () => {
    const stub = env.RECURRING_SCHEDULER.get(env.RECURRING_SCHEDULER.idFromName(`migrate-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      const version = () => sql.exec(`SELECT MAX(version) AS v FROM schema_version`).one().v;
      const tables = () => sql.exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mig_%' ORDER BY name`).toArray().map((r) => r.name);
      const good = [`CREATE TABLE mig_a (x INTEGER)`];
      const broken = [`CREATE TABLE mig_b (x INTEGER)`, `INSERT INTO mig_b VALUES (1)`, `INSERT INTO no_such_table VALUES (1)`];
      const before = Number(version() ?? 0);
      const pad = Array.from({ length: before }, () => [] as string[]);

      expect(() => migrateSqlite(state.storage, [...pad, good, broken])).toThrow(/no_such_table/);
      expect(version()).toBe(before + 1);
      expect(tables()).toEqual(["mig_a"]);

      migrateSqlite(state.storage, [...pad, good, [`CREATE TABLE mig_b (x INTEGER)`, `INSERT INTO mig_b VALUES (1)`]]);
      expect(version()).toBe(before + 2);
      expect(tables()).toEqual(["mig_a", "mig_b"]);
      expect(sql.exec(`SELECT COUNT(*) AS n FROM mig_b`).one().n).toBe(1);
    });
  });
});
