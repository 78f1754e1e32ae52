import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { meterConsumedBatch, meteredEnv, meterSnapshot, resetMeter } from "../src/metering/meter";
import { api } from "./helpers";

const on = () => meteredEnv({ ...env, METERING: "true" } as Env);

describe("metering", () => {
  it("is off by default: bindings are untouched and /_meter does not exist", async () => {
    expect(meteredEnv(env)).toBe(env);
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
  });

  it("counts Durable Object calls and consumed queue messages, less those sent back", () => {
    const metered = on();
    resetMeter();
    const stub = metered.QUEUE_SCHEDULER.get(metered.QUEUE_SCHEDULER.idFromName(`meter-${crypto.randomUUID()}`));
    return stub.status().then((status) => {
      expect(status.inflight).toBe(0);
      expect(meterSnapshot().doRequests).toBe(1);
      const message = (id: string) => ({ id, timestamp: new Date(), body: {}, attempts: 1, ack() {}, retry() {} });
      const batch = meterConsumedBatch(metered, { queue: "q", metadata: {}, messages: [message("a"), message("b")], ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>);
      batch.messages[1].retry();
      expect(meterSnapshot()).toMatchObject({ queueReads: 2, queueDeletes: 1 });
    });
  });
});
