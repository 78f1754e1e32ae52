import { z } from "zod";
import type { Settings } from "../config";
import { DAY_MS } from "../metrics/rollups";
import { readArchivedLogsOf } from "../db/log-pages";
import { archiveDayTables, archiveTableEnd, dropArchiveTable, LEGACY_JOBS_TABLE } from "../db/archive-days";
import { purgeEndpointRollups } from "./endpoint-retention";
import { writeHistory, type RawHistoryRecord } from "./history-archive";

/** Jobs deleted per transaction, and transactions per run (each is ~5 queries of D1's 1,000 per invocation). */
export const PURGE_BATCH = 500;
export const MAX_PURGE_ROUNDS = 40;
/** Days of expired rollups deleted per run (one statement per table and day). */
const MAX_ROLLUP_DAYS_PER_RUN = 60;

/**
 * Rows that belong to a job and go with it. A feature that keeps more per-job rows (webhook
 * deliveries, for instance) adds its table here.
 */
const JOB_CHILD_TABLES = ["job_logs", "job_log_pages", "job_attempts", "wbt_jobs", "http_job_definitions", "http_job_callbacks"] as const;
/** Flush markers only stop a replay, which comes from an object's journal within minutes; a week is ample. */
const FLUSH_MARKER_RETENTION_MS = 7 * DAY_MS;
/** Idempotency keys are honoured for 24 hours; a day more keeps clocks and races out of it. */
const IDEMPOTENCY_KEY_RETENTION_MS = 2 * DAY_MS;
/** Bookkeeping rows deleted per statement and run. */
const BOOKKEEPING_BATCH = 5_000;

/** Hourly aggregates and annotation rows, by their time column. The all-time totals are not here: they are kept. */
const METRICS_TABLES = [
  { table: "job_rollups", time: "hour" },
  { table: "job_failure_reasons", time: "hour" },
  { table: "queue_events", time: "at" },
] as const;

export type RetentionResult = { jobsDeleted: number; metricsRowsDeleted: number; more: boolean };

/** One bounded retention run: finished jobs past RETENTION_DAYS, then rollups past METRICS_RETENTION_DAYS (raw endpoint checks past ENDPOINT_RAW_RETENTION_HOURS). */
export async function runRetention(env: Env, now: number, settings: Pick<Settings, "retentionMs" | "metricsRetentionMs" | "monitoring">): Promise<RetentionResult> {
  const jobs = await purgeFinishedJobs(env, now - settings.retentionMs, MAX_PURGE_ROUNDS);
  const metrics = await purgeMetrics(env, now - settings.metricsRetentionMs, MAX_ROLLUP_DAYS_PER_RUN);
  const endpointRows = await purgeEndpointRollups(env, now, settings);
  const bookkeeping = await purgeBookkeeping(env, now);
  return { jobsDeleted: jobs.deleted, metricsRowsDeleted: metrics.deleted + endpointRows, more: jobs.more || metrics.more || bookkeeping.more };
}

const TERMINAL = `status IN ('completed', 'failed', 'cancelled')`;

/**
 * Removes the jobs that finished before `cutoff`, with their logs, attempts and other rows: whole
 * day tables of the archive whose day ended by then (see db/archive-days.ts), then the rows the
 * earlier engines left in `jobs_legacy`. With an `ARCHIVE_BUCKET`, each is first written to R2 as
 * NDJSON per queue and day, so the history stays exportable after it leaves D1. `maxRounds`
 * bounds the work of one run (a round is a page of PURGE_BATCH jobs or one dropped table).
 */
export async function purgeFinishedJobs(env: Env, cutoff: number, maxRounds: number): Promise<{ deleted: number; more: boolean; rowsWritten: number }> {
  const days = await dropExpiredDays(env, cutoff, maxRounds);
  if (days.more) return days;
  const legacy = await purgeLegacyJobs(env, cutoff, maxRounds);
  return { deleted: days.deleted + legacy.deleted, more: legacy.more, rowsWritten: days.rowsWritten + legacy.rowsWritten };
}

/**
 * Drops each day table whose day ended before `cutoff`: a job is kept RETENTION_DAYS after it
 * finished, and up to a day more. Dropping costs a few written rows per table, not one per job;
 * only jobs with rows elsewhere (attempts of a retried job, log pages, an HTTP definition) cost
 * those rows' deletes. The archived counts lose the table's rows in the same transaction.
 */
async function dropExpiredDays(env: Env, cutoff: number, maxRounds: number): Promise<{ deleted: number; more: boolean; rowsWritten: number }> {
  let deleted = 0;
  let rowsWritten = 0;
  let rounds = 0;
  for (const table of await archiveDayTables(env)) {
    if (archiveTableEnd(table)! > cutoff) continue;
    if (env.ARCHIVE_BUCKET) {
      const copy = await copyDayToR2(env, env.ARCHIVE_BUCKET, table, maxRounds - rounds);
      rounds += copy.rounds;
      if (!copy.done) return { deleted, more: true, rowsWritten };
    }
    if (++rounds > maxRounds) return { deleted, more: true, rowsWritten };
    const n = z.object({ n: z.number() }).parse(await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first()).n;
    const ofTable = `SELECT id FROM ${table}`;
    rowsWritten += await dropArchiveTable(env, table, [
      env.DB.prepare(
        `INSERT INTO job_counts (queue, status, n) SELECT queue, status, -COUNT(*) FROM ${table} WHERE ${TERMINAL} GROUP BY queue, status
         ON CONFLICT (queue, status) DO UPDATE SET n = n + excluded.n`,
      ),
      ...JOB_CHILD_TABLES.map((child) => env.DB.prepare(`DELETE FROM ${child} WHERE job_id IN (${ofTable})`)),
      env.DB.prepare(`DELETE FROM archive_day_exports WHERE name = ?1`).bind(table),
    ]);
    deleted += n;
  }
  return { deleted, more: false, rowsWritten };
}

/** Copies a day table to R2 a page at a time from where the last run stopped; done once every row is copied. */
async function copyDayToR2(env: Env, bucket: R2Bucket, table: string, maxRounds: number): Promise<{ done: boolean; rounds: number }> {
  const cursor = await env.DB.prepare(`SELECT after_id FROM archive_day_exports WHERE name = ?1`).bind(table).first<{ after_id: string }>();
  let after = cursor?.after_id ?? "";
  for (let round = 0; round < maxRounds; round++) {
    const { results } = await env.DB.prepare(`SELECT * FROM ${table} WHERE id > ?1 ORDER BY id LIMIT ?2`).bind(after, PURGE_BATCH).all();
    if (!results.length) return { done: true, rounds: round };
    await writeHistory(bucket, await historyOf(env, results as RawHistoryRecord["job"][]));
    after = z.object({ id: z.string() }).parse(results[results.length - 1]).id;
    await env.DB.prepare(`INSERT INTO archive_day_exports (name, after_id) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET after_id = excluded.after_id`)
      .bind(table, after)
      .run();
    if (results.length < PURGE_BATCH) return { done: true, rounds: round + 1 };
  }
  return { done: false, rounds: maxRounds };
}

/**
 * Deletes rows of `jobs_legacy` (written by the earlier engines) created and finished before
 * `cutoff` with the rows that belong to them, PURGE_BATCH per transaction, oldest first. A job
 * picked for deletion that was revived meanwhile is no longer there (its flush moved it to a day
 * table), so every statement re-checks; the archived counts lose exactly the rows deleted.
 */
async function purgeLegacyJobs(env: Env, cutoff: number, maxRounds: number): Promise<{ deleted: number; more: boolean; rowsWritten: number }> {
  let deleted = 0;
  let rowsWritten = 0;
  for (let round = 0; round < maxRounds; round++) {
    const { results } = await env.DB.prepare(
      `SELECT ${env.ARCHIVE_BUCKET ? "*" : "id"} FROM ${LEGACY_JOBS_TABLE} WHERE created_at < ?1 AND completed_at < ?1 AND ${TERMINAL} ORDER BY created_at, id LIMIT ?2`,
    )
      .bind(cutoff, PURGE_BATCH)
      .all();
    const ids = results.map((r) => z.object({ id: z.string() }).parse(r).id);
    if (!ids.length) return { deleted, more: false, rowsWritten };
    if (env.ARCHIVE_BUCKET) await writeHistory(env.ARCHIVE_BUCKET, await historyOf(env, results as RawHistoryRecord["job"][]));
    const json = JSON.stringify(ids);
    const stillExpired = `SELECT id FROM ${LEGACY_JOBS_TABLE} WHERE id IN (SELECT value FROM json_each(?1)) AND ${TERMINAL} AND completed_at < ?2`;
    const batch = await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO job_counts (queue, status, n) SELECT queue, status, -COUNT(*) FROM ${LEGACY_JOBS_TABLE} WHERE id IN (${stillExpired}) GROUP BY queue, status
         ON CONFLICT (queue, status) DO UPDATE SET n = n + excluded.n`,
      ).bind(json, cutoff),
      ...JOB_CHILD_TABLES.map((table) => env.DB.prepare(`DELETE FROM ${table} WHERE job_id IN (${stillExpired})`).bind(json, cutoff)),
      env.DB.prepare(`DELETE FROM ${LEGACY_JOBS_TABLE} WHERE id IN (${stillExpired})`).bind(json, cutoff),
    ]);
    deleted += batch[batch.length - 1].meta.changes;
    rowsWritten += batch.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0);
    if (results.length < PURGE_BATCH) return { deleted, more: false, rowsWritten };
  }
  return { deleted, more: true, rowsWritten };
}

/** The attempts and log lines of these jobs, to keep with them in R2. */
async function historyOf(env: Env, rows: RawHistoryRecord["job"][]): Promise<RawHistoryRecord[]> {
  const { results: attempts } = await env.DB.prepare(`SELECT * FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(?1)) ORDER BY job_id, attempt`)
    .bind(JSON.stringify(rows.map((r) => r.id)))
    .all<{ job_id: string }>();
  const byJob = new Map<string, unknown[]>();
  for (const a of attempts) byJob.set(a.job_id, [...(byJob.get(a.job_id) ?? []), a]);
  const logs = await readArchivedLogsOf(env, rows.map((r) => r.id));
  return rows.map((job) => ({ job, attempts: byJob.get(job.id) ?? [], logs: logs.get(job.id) ?? [] }));
}

/** Flush markers and idempotency keys past their use, a bounded number per run. */
async function purgeBookkeeping(env: Env, now: number): Promise<{ more: boolean }> {
  const [markers, keys] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM archive_flushes WHERE (queue, seq) IN (SELECT queue, seq FROM archive_flushes WHERE at < ?1 LIMIT ?2)`).bind(now - FLUSH_MARKER_RETENTION_MS, BOOKKEEPING_BATCH),
    env.DB.prepare(`DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)`).bind(now - IDEMPOTENCY_KEY_RETENTION_MS, BOOKKEEPING_BATCH),
  ]);
  return { more: markers.meta.changes === BOOKKEEPING_BATCH || keys.meta.changes === BOOKKEEPING_BATCH };
}

/** Deletes rollup and annotation rows older than `cutoff`, a day of rows per statement. */
export async function purgeMetrics(env: Env, cutoff: number, maxDays: number): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0;
  let more = false;
  for (const { table, time } of METRICS_TABLES) {
    for (let day = 0; ; day++) {
      if (day === maxDays) {
        more = true;
        break;
      }
      const r = await env.DB.prepare(`DELETE FROM ${table} WHERE ${time} < MIN(?1, (SELECT MIN(${time}) FROM ${table}) + ?2)`).bind(cutoff, DAY_MS).run();
      if (!r.meta.changes) break;
      deleted += r.meta.changes;
    }
  }
  return { deleted, more };
}
