import { env, exports } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { historyDays, readHistory } from "../src/maintenance/history-archive";
import { PURGE_BATCH, purgeFinishedJobs, purgeMetrics, runRetention } from "../src/maintenance/retention";
import { RETENTION_INTERVAL_MS, runDueMaintenance } from "../src/maintenance/tasks";
import { ADMIN, api, BASE, uniqueQueue } from "./helpers";

const exportCall = async (path: string) => (await exports.default.fetch(new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } }))).text();

const DAY = 86_400_000;

/** Rows the earlier engines wrote (`jobs_legacy`): jobs that finished `ageDays` ago, with an attempt and a log line each, counted in job_counts. */
async function seedOldJobs(queue: string, count: number, ageDays: number, status = "completed", tag = "") {
  const at = Date.now() - ageDays * DAY;
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       SELECT printf('job_%s%s_%05d', ?1, ?5, i), ?1, 'echo', 'old', ?4, 1, '{}', ?2, 1, 3, ?2, ?2, ?2, CASE WHEN ?4 IN ('completed', 'failed', 'cancelled') THEN ?2 + 5 END FROM n`,
    ).bind(queue, at, count, status, tag),
    env.DB.prepare(`INSERT OR IGNORE INTO job_attempts (job_id, attempt, status, started_at, completed_at, duration_ms) SELECT id, 1, 'completed', run_at, run_at + 5, 5 FROM jobs WHERE queue = ?1`).bind(queue),
    env.DB.prepare(
      `INSERT INTO job_logs (job_id, attempt, level, message, created_at) SELECT id, 1, 'Info', 'hello', run_at FROM jobs WHERE queue = ?1 AND NOT EXISTS (SELECT 1 FROM job_logs l WHERE l.job_id = jobs.id)`,
    ).bind(queue),
    env.DB.prepare(
      `INSERT INTO job_counts (queue, status, n) SELECT ?1, ?2, ?3 WHERE ?2 IN ('completed', 'failed', 'cancelled') ON CONFLICT (queue, status) DO UPDATE SET n = n + excluded.n`,
    ).bind(queue, status, count),
  ]);
}

const archivedCount = async (queue: string, status = "completed") =>
  (await env.DB.prepare(`SELECT n FROM job_counts WHERE queue = ?1 AND status = ?2`).bind(queue, status).first<{ n: number }>())?.n;
/** The environment without an R2 bucket: retention only deletes. */
const withoutBucket = () => ({ ...env, ARCHIVE_BUCKET: undefined }) as Env;

const countWhere = async (sql: string, queue: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(queue).first<{ n: number }>())!.n;

describe("retention", () => {
  it("purges the earlier engines' finished jobs past the retention age with their attempts and logs, in bounded transactions", async () => {
    const queue = uniqueQueue("purge");
    await seedOldJobs(queue, PURGE_BATCH * 2 + 100, 40);
    const keep = uniqueQueue("keep");
    await seedOldJobs(keep, 3, 10);
    const waiting = uniqueQueue("waiting");
    await seedOldJobs(waiting, 2, 40, "pending");

    const cutoff = Date.now() - 30 * DAY;
    const one = await purgeFinishedJobs(withoutBucket(), cutoff, 1);
    expect(one.deleted).toBeLessThanOrEqual(PURGE_BATCH);
    expect(one.more).toBe(true);
    for (let run = 0; run < 10 && (await purgeFinishedJobs(withoutBucket(), cutoff, 2)).more; run++);
    expect(await archivedCount(queue)).toBe(0);
    expect(await archivedCount(keep)).toBe(3);

    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`job_attempts WHERE job_id LIKE 'job_' || ?1 || '%'`, queue)).toBe(0);
    expect(await countWhere(`job_logs WHERE job_id LIKE 'job_' || ?1 || '%'`, queue)).toBe(0);
    expect(await countWhere(`jobs WHERE queue = ?1`, keep)).toBe(3);
    expect(await countWhere(`job_logs WHERE job_id LIKE 'job_' || ?1 || '%'`, keep)).toBe(3);
    expect(await countWhere(`jobs WHERE queue = ?1`, waiting)).toBe(2);
    await env.DB.prepare(`DELETE FROM jobs WHERE queue IN (?1, ?2)`).bind(keep, waiting).run();
  });

  it("purges hourly rollups and annotations past their age and keeps the all-time totals", async () => {
    const queue = uniqueQueue("rollups");
    const hour = (daysAgo: number) => Math.floor((Date.now() - daysAgo * DAY) / 3600_000) * 3600_000;
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO job_rollups (hour, queue, type, completed) VALUES (?1, ?3, 'echo', 5), (?2, ?3, 'echo', 7)`).bind(hour(500), hour(399), queue),
      env.DB.prepare(`INSERT INTO job_failure_reasons (hour, queue, type, reason, count) VALUES (?1, ?2, 'echo', 'x', 1)`).bind(hour(500), queue),
      env.DB.prepare(`INSERT INTO job_totals (queue, type, completed) VALUES (?1, 'echo', 12)`).bind(queue),
      env.DB.prepare(`INSERT INTO queue_events (id, at, queue, type, data) VALUES (?1, ?2, ?3, 'queue.paused', '{}')`).bind(`evt_${queue}`, hour(450), queue),
    ]);
    await purgeMetrics(env, Date.now() - 400 * DAY, 400);
    const left = await env.DB.prepare(`SELECT hour, completed FROM job_rollups WHERE queue = ?1`).bind(queue).all();
    expect(left.results).toEqual([{ hour: hour(399), completed: 7 }]);
    expect(await countWhere(`job_failure_reasons WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`queue_events WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`job_totals WHERE queue = ?1 AND completed = 12`, queue)).toBe(1);
  });

  it("runs once a day from the every-minute cron, using the task row as its marker", async () => {
    const queue = uniqueQueue("cron");
    await seedOldJobs(queue, 3, 31);
    await env.DB.prepare(`UPDATE maintenance_tasks SET next_run_at = 0, lease_until = NULL WHERE name = 'retention'`).run();

    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const task = await env.DB.prepare(`SELECT next_run_at, lease_until, last_result FROM maintenance_tasks WHERE name = 'retention'`).first<any>();
    expect(task.next_run_at).toBeGreaterThan(Date.now() + RETENTION_INTERVAL_MS - 3600_000);
    expect(task.lease_until).toBeNull();
    expect(JSON.parse(task.last_result)).toMatchObject({ jobsDeleted: expect.any(Number), more: false });
    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);

    expect(await runDueMaintenance(env)).toBeNull();
    await env.DB.prepare(`UPDATE maintenance_tasks SET next_run_at = 0, lease_until = ?1 WHERE name = 'retention'`).bind(Date.now() + 60_000).run();
    expect(await runDueMaintenance(env)).toBeNull();
    await env.DB.prepare(`UPDATE maintenance_tasks SET lease_until = NULL WHERE name = 'retention'`).run();
    expect(await runDueMaintenance(env)).toMatchObject({ more: false });
  });

  it("moves the earlier engines' expired history to R2 as NDJSON per queue and day, with attempts and logs, then deletes it from D1", async () => {
    const queue = uniqueQueue("r2");
    await seedOldJobs(queue, 4, 40);
    await seedOldJobs(queue, 2, 41, "failed", "f");
    const packed = `job_${queue}_packed`;
    const old = Date.now() - 40 * DAY;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
         VALUES (?1, ?2, 'echo', 'packed', 'completed', 1, '{}', ?3, 2, 3, ?3, ?3, ?3, ?3 + 5)`,
      ).bind(packed, queue, old),
      env.DB.prepare(`INSERT INTO job_log_pages (job_id, attempt, page, lines) VALUES (?1, 2, 0, '[{"level":"Info","message":"packed line","details":null,"stepName":null,"createdAt":1}]')`).bind(packed),
    ]);
    const days = (n: number) => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);

    const moved = await purgeFinishedJobs(env, Date.now() - 30 * DAY, 5);
    expect(moved).toMatchObject({ deleted: 7, more: false });
    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`job_log_pages WHERE job_id LIKE 'job_' || ?1 || '%'`, queue)).toBe(0);

    expect(await historyDays(env.ARCHIVE_BUCKET!, queue)).toEqual([days(41), days(40)].sort());
    const day40 = await readHistory(env.ARCHIVE_BUCKET!, queue, days(40));
    expect(day40.map((r) => r.job.status)).toEqual(["completed", "completed", "completed", "completed", "completed"]);
    const first = day40.find((r) => r.job.id === `job_${queue}_00001`)!;
    expect(first.attempts).toMatchObject([{ attempt: 1, status: "completed", durationMs: 5 }]);
    expect(first.logs).toMatchObject([{ attempt: 1, message: "hello" }]);
    expect(day40.find((r) => r.job.id === packed)!.logs).toMatchObject([{ attempt: 2, message: "packed line" }]);
    const day41 = await readHistory(env.ARCHIVE_BUCKET!, queue, days(41));
    expect(day41.map((r) => [r.job.status, r.job.queue])).toEqual([
      ["failed", queue],
      ["failed", queue],
    ]);
    expect(await archivedCount(queue, "failed")).toBe(0);

    // The API exports a day of it, as the jobs export shapes jobs; bad input is a 400.
    const exportedDay = await api(`/export/archive?queue=${queue}&day=${days(40)}&format=json`);
    expect(exportedDay.status).toBe(200);
    expect((exportedDay.json as { id: string; status: string }[]).map((j) => j.id).sort()).toEqual([...day40.map((r) => r.job.id)].sort());
    const csv = await exportCall(`/export/archive?queue=${queue}&day=${days(41)}&format=csv`);
    expect(csv.split("\n").filter(Boolean)).toHaveLength(3);
    for (const bad of [`queue=${queue}&day=yesterday`, `day=${days(40)}`, `queue=${queue}&day=${days(40)}&format=xml`]) {
      const res = await api(`/export/archive?${bad}`);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: "validation_error" });
    }
  });

  it("keeps a job created long ago that finished within the retention age", async () => {
    const queue = uniqueQueue("late");
    await seedOldJobs(queue, 1, 40);
    await env.DB.prepare(`UPDATE jobs_legacy SET completed_at = ?2 WHERE queue = ?1`).bind(queue, Date.now() - DAY).run();
    await purgeFinishedJobs(withoutBucket(), Date.now() - 30 * DAY, 5);
    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(1);
    await env.DB.prepare(`DELETE FROM jobs WHERE queue = ?1`).bind(queue).run();
  });

  it("drops flush markers and idempotency keys past their use and keeps recent ones", async () => {
    const queue = uniqueQueue("markers");
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO archive_flushes (queue, seq, at) VALUES (?1, 1, ?2), (?1, 2, ?3)`).bind(queue, now - 8 * DAY, now - 60_000),
      env.DB.prepare(`INSERT INTO idempotency_keys (key, job_id, request_hash, created_at) VALUES (?1 || '-old', 'job_a', NULL, ?2), (?1 || '-new', 'job_b', NULL, ?3)`).bind(queue, now - 3 * DAY, now - 60_000),
    ]);
    await runRetention(withoutBucket(), now, { retentionMs: 30 * DAY, metricsRetentionMs: 400 * DAY, monitoring: { rawRetentionMs: 48 * 3600_000 } } as Parameters<typeof runRetention>[2]);
    expect((await env.DB.prepare(`SELECT seq FROM archive_flushes WHERE queue = ?1`).bind(queue).all()).results).toEqual([{ seq: 2 }]);
    expect((await env.DB.prepare(`SELECT key FROM idempotency_keys WHERE key LIKE ?1 || '%'`).bind(queue).all()).results).toEqual([{ key: `${queue}-new` }]);
  });

  it("writes about one row per purged job of the earlier engines' table", async () => {
    const queue = uniqueQueue("cost");
    const n = 400;
    await env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       SELECT printf('job_%s_%05d', ?1, i), ?1, 'echo', 'old', 'completed', 1, '{}', ?2, 1, 3, ?2, ?2, ?2, ?2 + 5 FROM n`,
    )
      .bind(queue, Date.now() - 40 * DAY, n)
      .run();
    const purge = await purgeFinishedJobs(withoutBucket(), Date.now() - 30 * DAY, 5);
    expect(purge.deleted).toBe(n);
    // The job row (its index entries are not counted for a delete) and the job_counts row, once per batch.
    const written = purge.rowsWritten;
    console.log(`rows written per purged job (no logs, no attempt rows): ${(written / n).toFixed(3)}`);
    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);
    expect(written / n).toBeLessThanOrEqual(1.01);
  });
});
