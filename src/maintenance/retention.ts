import { z } from "zod";
import type { Settings } from "../config";
import { DAY_MS } from "../metrics/rollups";
import { purgeEndpointRollups } from "./endpoint-retention";

/** Jobs deleted per transaction, and transactions per run (each is ~5 queries of D1's 1,000 per invocation). */
export const PURGE_BATCH = 500;
export const MAX_PURGE_ROUNDS = 40;
/** Days of expired rollups deleted per run (one statement per table and day). */
const MAX_ROLLUP_DAYS_PER_RUN = 60;

/**
 * Rows that belong to a job and go with it. A feature that keeps more per-job rows (webhook
 * deliveries, for instance) adds its table here.
 */
const JOB_CHILD_TABLES = ["job_logs", "job_attempts", "wbt_jobs"] as const;

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
  return { jobsDeleted: jobs.deleted, metricsRowsDeleted: metrics.deleted + endpointRows, more: jobs.more || metrics.more };
}

const TERMINAL = `status IN ('completed', 'failed', 'cancelled')`;

/**
 * Deletes jobs that finished before `cutoff` with their logs and attempts, PURGE_BATCH per
 * transaction. A job picked for deletion that was re-run in between is no longer terminal and
 * old, so every statement re-checks that and leaves it alone.
 */
export async function purgeFinishedJobs(env: Env, cutoff: number, maxRounds: number): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0;
  for (let round = 0; round < maxRounds; round++) {
    const { results } = await env.DB.prepare(`SELECT id FROM jobs WHERE ${TERMINAL} AND completed_at < ?1 LIMIT ?2`).bind(cutoff, PURGE_BATCH).all();
    const ids = JSON.stringify(results.map((r) => z.object({ id: z.string() }).parse(r).id));
    if (ids === "[]") return { deleted, more: false };
    const stillExpired = `SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND ${TERMINAL} AND completed_at < ?2`;
    const batch = await env.DB.batch([
      ...JOB_CHILD_TABLES.map((table) => env.DB.prepare(`DELETE FROM ${table} WHERE job_id IN (${stillExpired})`).bind(ids, cutoff)),
      env.DB.prepare(`DELETE FROM jobs WHERE id IN (${stillExpired})`).bind(ids, cutoff),
    ]);
    deleted += batch[batch.length - 1].meta.changes;
    if (results.length < PURGE_BATCH) return { deleted, more: false };
  }
  return { deleted, more: true };
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
