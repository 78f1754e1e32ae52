import { z } from "zod";
import type { SchedulerStatus } from "../scheduler/messages";
import { DEFAULT_WORKERS } from "../model/queue";

/** Throughput is measured over this window (seed: jobsPerHour, and jobsPerMinute as its per-minute average). */
export const THROUGHPUT_WINDOW_MS = 3_600_000;

const int = z.number().int();
const QueueRecordSchema = z.object({
  name: z.string(),
  paused: int,
  workers: int,
  rate_limit: int.nullable(),
  rate_interval_ms: int.nullable(),
  version: int,
  default_max_retries: int.nullable(),
  default_timeout_ms: int.nullable(),
});
const CountRow = z.object({ queue: z.string(), status: z.string(), n: int });
const ThroughputRow = z.object({ queue: z.string(), hour: int, n: int });
const HOUR_MS = 3_600_000;

/**
 * The share of an hourly rollup bucket that falls in the window [now - windowMs, now], taking the
 * jobs of an hour as spread evenly over its elapsed part: the current hour counts whole for a
 * one-hour window, the previous hour for the part of it still inside the window.
 */
export function windowShare(hour: number, now: number, windowMs: number): number {
  const end = Math.min(hour + HOUR_MS, now);
  const overlap = Math.max(0, end - Math.max(hour, now - windowMs));
  return end > hour ? overlap / (end - hour) : 0;
}

/** Everything GET /queues shows about one queue. */
export type QueueStats = {
  name: string;
  paused: boolean;
  workers: number;
  rateLimit: { limit: number; intervalMs: number } | null;
  version: number;
  defaults: { maxRetries: number | null; timeoutMs: number | null };
  counts: Record<"pending" | "running" | "completed" | "failed", number>;
  finishedLastHour: number;
};

/** What D1 knows of a queue: its settings row, its archived jobs by status, its throughput. Live counts are the scheduler's. */
export type ArchivedQueueStats = Omit<QueueStats, "counts"> & { counts: Record<"completed" | "failed", number> };

/** A queue exists once it has a row: set up with PATCH, or named by a job (every queue that gets a job gets a row). */
export async function queueExists(env: Env, name: string): Promise<boolean> {
  const row = await env.DB.prepare(`SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?1) AS found`).bind(name).first<{ found: number }>();
  return row?.found === 1;
}

/**
 * The D1 side of the stats of every queue (or of the one named), sorted by name: the queues with a
 * row or with archived jobs, their finished counts from the `job_counts` counters, and the jobs
 * that finished in the last THROUGHPUT_WINDOW_MS, from the hourly rollups (no scan of the jobs).
 */
export async function archivedQueueStats(env: Env, now: number, only?: string): Promise<ArchivedQueueStats[]> {
  const bind = (s: D1PreparedStatement) => (only === undefined ? s : s.bind(only));
  const firstHour = Math.floor((now - THROUGHPUT_WINDOW_MS) / HOUR_MS) * HOUR_MS;
  const [records, counts, finished] = await env.DB.batch([
    bind(env.DB.prepare(`SELECT * FROM queues ${only === undefined ? "" : "WHERE name = ?1"}`)),
    bind(env.DB.prepare(`SELECT queue, status, n FROM job_counts WHERE n > 0 ${only === undefined ? "" : "AND queue = ?1"}`)),
    env.DB.prepare(
      `SELECT queue, hour, SUM(completed + failed) AS n FROM job_rollups WHERE hour >= ?1 ${only === undefined ? "" : "AND queue = ?2"} GROUP BY queue, hour`,
    ).bind(...(only === undefined ? [firstHour] : [firstHour, only])),
  ]);
  const byName = new Map<string, ArchivedQueueStats>();
  const entry = (name: string) => {
    let s = byName.get(name);
    if (!s) {
      s = {
        name,
        paused: false,
        workers: DEFAULT_WORKERS,
        rateLimit: null,
        version: 0,
        defaults: { maxRetries: null, timeoutMs: null },
        counts: { completed: 0, failed: 0 },
        finishedLastHour: 0,
      };
      byName.set(name, s);
    }
    return s;
  };
  for (const raw of records.results) {
    const r = QueueRecordSchema.parse(raw);
    Object.assign(entry(r.name), {
      paused: r.paused === 1,
      workers: r.workers,
      rateLimit: r.rate_limit != null && r.rate_interval_ms != null ? { limit: r.rate_limit, intervalMs: r.rate_interval_ms } : null,
      version: r.version,
      defaults: { maxRetries: r.default_max_retries, timeoutMs: r.default_timeout_ms },
    });
  }
  for (const raw of counts.results) {
    const r = CountRow.parse(raw);
    const counts = entry(r.queue).counts;
    if (r.status === "completed" || r.status === "failed") counts[r.status] = r.n;
  }
  const throughput = new Map<string, number>();
  for (const raw of finished.results) {
    const r = ThroughputRow.parse(raw);
    throughput.set(r.queue, (throughput.get(r.queue) ?? 0) + r.n * windowShare(r.hour, now, THROUGHPUT_WINDOW_MS));
  }
  for (const [queue, n] of throughput) entry(queue).finishedLastHour = Math.round(n);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Mirrors a scheduler's settings into the queue's row (creating the row if needed). Ordered by the
 * scheduler's version, so a slower write of older settings never overwrites newer ones.
 */
export function mirrorSchedulerStatement(env: Env, name: string, status: SchedulerStatus, now: number): D1PreparedStatement {
  return env.DB.prepare(
    `INSERT INTO queues (name, paused, workers, rate_limit, rate_interval_ms, version, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
     ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, workers = excluded.workers, rate_limit = excluded.rate_limit,
       rate_interval_ms = excluded.rate_interval_ms, version = excluded.version, updated_at = excluded.updated_at
     WHERE excluded.version > queues.version`,
  ).bind(name, status.paused ? 1 : 0, status.workers, status.rateLimit?.limit ?? null, status.rateLimit?.intervalMs ?? null, status.version, now);
}

/** Sets the given defaults for new jobs (null clears one); runs after mirrorSchedulerStatement created the row. */
export function defaultsStatement(env: Env, name: string, defaults: { maxRetries?: number | null; timeoutMs?: number | null }, now: number): D1PreparedStatement | null {
  const sets: string[] = [];
  const values: unknown[] = [];
  if (defaults.maxRetries !== undefined) {
    values.push(defaults.maxRetries);
    sets.push(`default_max_retries = ?${values.length}`);
  }
  if (defaults.timeoutMs !== undefined) {
    values.push(defaults.timeoutMs);
    sets.push(`default_timeout_ms = ?${values.length}`);
  }
  if (!sets.length) return null;
  values.push(now, name);
  return env.DB.prepare(`UPDATE queues SET ${sets.join(", ")}, updated_at = ?${values.length - 1} WHERE name = ?${values.length}`).bind(...values);
}

/** Defaults for new jobs of these queues; queues without a row or without defaults are absent. */
export async function queueDefaults(env: Env, names: string[]): Promise<Map<string, { maxRetries: number | null; timeoutMs: number | null }>> {
  const out = new Map<string, { maxRetries: number | null; timeoutMs: number | null }>();
  const unique = [...new Set(names)];
  if (!unique.length) return out;
  const { results } = await env.DB.prepare(
    `SELECT name, default_max_retries, default_timeout_ms FROM queues
     WHERE name IN (SELECT value FROM json_each(?1)) AND (default_max_retries IS NOT NULL OR default_timeout_ms IS NOT NULL)`,
  )
    .bind(JSON.stringify(unique))
    .all();
  for (const raw of results) {
    const r = QueueRecordSchema.pick({ name: true, default_max_retries: true, default_timeout_ms: true }).parse(raw);
    out.set(r.name, { maxRetries: r.default_max_retries, timeoutMs: r.default_timeout_ms });
  }
  return out;
}

/**
 * Deletes up to `limit` archived failed jobs of a queue, with their attempts and log lines, in one
 * transaction, and takes them off the queue's `job_counts`. Returns how many rows were selected
 * and the ids deleted (a job re-run meanwhile is rewritten by its flush, not deleted here: only
 * rows still failed go).
 */
export async function deleteArchivedFailedJobs(env: Env, queue: string, limit: number): Promise<{ selected: number; deleted: string[] }> {
  const { results } = await env.DB.prepare(`SELECT id FROM jobs WHERE queue = ?1 AND status = 'failed' LIMIT ?2`).bind(queue, limit).all();
  const ids = results.map((r) => IdRow.parse(r).id);
  if (!ids.length) return { selected: 0, deleted: [] };
  const stillFailed = `SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'failed'`;
  const args = JSON.stringify(ids);
  const batch = await env.DB.batch([
    env.DB.prepare(`UPDATE job_counts SET n = n - (SELECT COUNT(*) FROM (${stillFailed})) WHERE queue = ?2 AND status = 'failed'`).bind(args, queue),
    ...["job_logs", "job_log_pages", "job_attempts", "http_job_definitions", "http_job_callbacks"].map((child) =>
      env.DB.prepare(`DELETE FROM ${child} WHERE job_id IN (${stillFailed})`).bind(args),
    ),
    env.DB.prepare(`DELETE FROM jobs WHERE id IN (${stillFailed}) RETURNING id`).bind(args),
  ]);
  const jobsDeleted = batch[batch.length - 1];
  return { selected: ids.length, deleted: jobsDeleted.results.map((r) => IdRow.parse(r).id) };
}

const IdRow = z.object({ id: z.string() });

/** The names among these that no queue row or recurring job uses yet (every queue that got a job has a row). */
export async function unusedQueueNames(env: Env, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  const { results } = await env.DB.prepare(
    `SELECT n.value AS name FROM json_each(?1) AS n
     WHERE NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = n.value)
       AND NOT EXISTS (SELECT 1 FROM recurring_jobs WHERE recurring_jobs.queue = n.value)`,
  )
    .bind(JSON.stringify(unique))
    .all();
  return results.map((r) => z.object({ name: z.string() }).parse(r).name);
}

/**
 * Every queue name in use, with its configured workers (null: never configured, so the default).
 * Distinct recurring-job queues are walked one index seek per name, not one row per definition.
 */
export async function queuesInUse(env: Env): Promise<{ name: string; workers: number | null }[]> {
  const { results } = await env.DB.prepare(
    `WITH RECURSIVE
       recurring_queues(name) AS (
         SELECT MIN(queue) FROM recurring_jobs
         UNION ALL SELECT (SELECT MIN(queue) FROM recurring_jobs WHERE queue > recurring_queues.name) FROM recurring_queues WHERE recurring_queues.name IS NOT NULL),
       names(name) AS (
         SELECT name FROM recurring_queues WHERE name IS NOT NULL
         UNION SELECT name FROM queues)
     SELECT names.name AS name, queues.workers AS workers FROM names LEFT JOIN queues ON queues.name = names.name`,
  ).all();
  const Row = z.object({ name: z.string(), workers: int.nullable() });
  return results.map((r) => Row.parse(r));
}
