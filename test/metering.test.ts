import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterConsumedBatch, meteredEnv, meterStorage, meterSnapshot, resetMeter } from "../src/metering/meter";
import { api } from "./helpers";

const on = () => meteredEnv(env);

describe("metering", () => {
  it("is no part of the production Worker: /_meter does not exist there", async () => {
    const res = await api("/_meter");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: "not_found" });
  });

  it("counts D1 rows read and written through run, first, raw and batch", async () => {
    const db = on().DB;
    resetMeter();
    const id = `job_meter_${crypto.randomUUID()}`;
    // echo_ledger has one secondary index and an AUTOINCREMENT key: an insert writes the row, its
    // index entry and the sqlite_sequence row.
    await db.prepare("INSERT INTO echo_ledger (job_id, attempt, started_at) VALUES (?, 1, 1)").bind(id).run();
    expect(meterSnapshot()).toMatchObject({ d1Queries: 1, d1RowsWritten: 3 });
    expect(await db.prepare("SELECT attempt FROM echo_ledger WHERE job_id = ?").bind(id).first("attempt")).toBe(1);
    expect(await db.prepare("SELECT job_id, attempt FROM echo_ledger WHERE job_id = ?").bind(id).raw()).toEqual([[id, 1]]);
    await db.batch([db.prepare("DELETE FROM echo_ledger WHERE job_id = ?").bind(id), db.prepare("SELECT 1")]);
    const counts = meterSnapshot();
    expect(counts.d1Queries).toBe(5);
    // A delete counts its row only.
    expect(counts.d1RowsWritten).toBe(4);
    expect(counts.d1RowsRead).toBeGreaterThanOrEqual(2);
    // The database's size as D1 reports it after each query: kept across a reset (a level, not a count).
    expect(counts.d1SizeBytes).toBeGreaterThan(0);
    resetMeter();
    expect(meterSnapshot()).toMatchObject({ d1Queries: 0, d1RowsWritten: 0, d1SizeBytes: counts.d1SizeBytes });
  });

  it("counts a Durable Object's SQLite rows and the alarms it sets, once its storage is metered", async () => {
    const stub = env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(`meter-state-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (_instance, state) => {
      meterStorage(state);
      resetMeter();
      state.storage.sql.exec("CREATE TABLE meter_probe (id INTEGER PRIMARY KEY, v TEXT)");
      state.storage.sql.exec("INSERT INTO meter_probe (v) VALUES ('a'), ('b')");
      expect(state.storage.sql.exec("SELECT v FROM meter_probe ORDER BY id").toArray()).toEqual([{ v: "a" }, { v: "b" }]);
      // Its database size as of its last statement, with the table just created in it.
      expect(meterSnapshot().doSizeBytes).toBeGreaterThanOrEqual(state.storage.sql.databaseSize);
      const at = Date.now() + 3_600_000;
      await state.storage.setAlarm(at);
      expect(await state.storage.getAlarm()).toBe(at);
      await state.storage.deleteAlarm();
      const counts = meterSnapshot();
      expect(counts).toMatchObject({ doAlarmsSet: 1 });
      expect(counts.doRowsWritten).toBeGreaterThanOrEqual(2);
      expect(counts.doRowsRead).toBeGreaterThanOrEqual(2);
    });
  });

  it("counts Durable Object calls and consumed queue messages, less those sent back", () => {
    const metered = on();
    resetMeter();
    const stub = metered.QUEUE_SCHEDULER.get(metered.QUEUE_SCHEDULER.idFromName(`meter-${crypto.randomUUID()}`));
    return stub.status().then((status) => {
      expect(status.inflight).toBe(0);
      expect(meterSnapshot().doRequests).toBe(1);
      const message = (id: string) => ({ id, timestamp: new Date(), body: {}, attempts: 1, ack() {}, retry() {} });
      const batch = meterConsumedBatch({ queue: "q", metadata: {}, messages: [message("a"), message("b")], ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>);
      batch.messages[1].retry();
      expect(meterSnapshot()).toMatchObject({ queueReads: 2, queueDeletes: 1 });
    });
  });
});
