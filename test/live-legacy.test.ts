import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../src/lib/ids";
import { LEASE_EXPIRED } from "../src/model/attempt";
import { schedulerFor } from "../src/scheduler/client";
import type { QueueScheduler } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";
import { restarted, storedRows } from "./live-helpers";

/** Rows as the previous engine left them: a pending job, and a running one with its attempt row (handler started). */
async function writeOldRows(queue: string, ids = { pending: newId("job"), running: newId("job") }) {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, retry_count, max_retries, timeout_ms, cancel_requested, created_at, updated_at)
       VALUES (?1, ?2, 'echo', 'old pending', 'pending', 1, '{}', ?3, 0, 0, 3, NULL, 0, ?3, ?3)`,
    ).bind(ids.pending, queue, now - 5_000),
    env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, retry_count, max_retries, timeout_ms, cancel_requested, lease_until, created_at, updated_at, executed_at)
       VALUES (?1, ?2, 'echo', 'old running', 'running', 1, '{}', ?3, 1, 0, 3, 1000, 0, ?4, ?3, ?3, ?3)`,
    ).bind(ids.running, queue, now - 4_000, now + 31_000),
    env.DB.prepare(`INSERT INTO job_attempts (job_id, attempt, status, started_at, handler_started_at) VALUES (?, 1, 'running', ?, ?)`).bind(ids.running, now - 4_000, now - 3_999),
  ]);
  return ids;
}

const liveInD1 = async (ids: string[]) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND status IN ('pending', 'running')`).bind(JSON.stringify(ids)).first<{ n: number }>())!.n;

describe("QueueScheduler: one-time import of the previous engine's live rows", () => {
  it("holds the old pending and running jobs (attempt, lease, handler-started mark kept), deletes them from D1, and expires the old lease as today", async () => {
    const queue = uniqueQueue();
    const ids = await writeOldRows(queue);
    const stub = schedulerFor(env, queue);
    await stub.pause({ queue });
    await stub.heal(queue);
    expect(await liveInD1([ids.pending, ids.running])).toBe(0);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_attempts WHERE job_id = ?`).bind(ids.running).first()).toEqual({ n: 0 });
    const held = new Map((await stub.get({ queue, ids: [ids.pending, ids.running] })).jobs.map((d) => [d.job.id, d]));
    expect(held.get(ids.pending)!.job).toMatchObject({ status: "pending", attempt: 0 });
    expect(held.get(ids.running)!.job).toMatchObject({ status: "running", attempt: 1 });
    expect(held.get(ids.running)!.attempts).toEqual([expect.objectContaining({ attempt: 1, status: "running" })]);
    // An old one-job message for the pending job still claims it.
    expect((await stub.claim({ queue, token: `single:${ids.pending}:0`, jobs: [[ids.pending, 0]] })).claimed).toHaveLength(1);

    await stub.extendLease({ queue, id: ids.running, attempt: 1, leaseUntil: Date.now() - 1 });
    await stub.heal(queue);
    const [expired] = (await stub.get({ queue, ids: [ids.running] })).jobs;
    expect(expired.job).toMatchObject({ status: "pending", retryCount: 1, error: LEASE_EXPIRED });
  });

  it("a crash between the segment and the D1 delete re-imports harmlessly: ids already held are skipped", async () => {
    const queue = uniqueQueue();
    const ids = await writeOldRows(queue);
    const stub = schedulerFor(env, queue);
    await stub.pause({ queue });
    await stub.heal(queue);
    // As if the D1 delete had not happened: the rows are back and the import is not marked done.
    await writeOldRows(queue, ids);
    await runInDurableObject(stub, async (_instance: QueueScheduler, state) => {
      state.storage.sql.exec(`DELETE FROM settings WHERE key = 'legacy_imported'`);
      const fresh = restarted(state);
      await fresh.heal(queue);
      expect(await liveInD1([ids.pending, ids.running])).toBe(0);
      expect((await fresh.list({ queue, filter: {}, limit: 10 })).total).toBe(2);
      expect(storedRows(state.storage.sql)).toBe(1);
    });
  });
});
