import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import type { QueueScheduler } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";

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
    expect(String(await failure(stub.clear({ queue, jobIds: [""] })))).toContain("ZodError");
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
    const stub = schedulerFor(env, queue);
    await stub.configure({ queue, workers: 50, rateLimit: { limit: 3, intervalMs: 10_000 } });
    const before = Date.now();
    // Jobs D1 does not know: their dispatches are claimed by nobody and released, which is fine here.
    await stub.enqueue({ queue, items: Array.from({ length: 5 }, (_, i) => ({ jobId: `job_rate_${queue}_${i}`, attempt: 0, runAt: before, priority: 1 })) });
    const after = Date.now();
    expect((await stub.status()).due).toBe(2);
    const { alarm, starts } = await runInDurableObject(stub, async (_i: QueueScheduler, state) => ({
      alarm: await state.storage.getAlarm(),
      starts: state.storage.sql.exec(`SELECT at FROM starts`).toArray().map((r) => Number(r.at)),
    }));
    expect(starts).toHaveLength(3);
    expect(alarm).toBeGreaterThanOrEqual(before + 10_000);
    expect(alarm).toBeLessThanOrEqual(after + 10_000);

    await stub.configure({ queue, rateLimit: null });
    expect((await stub.status()).due).toBe(0);
  });
});
