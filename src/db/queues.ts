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
const ThroughputRow = z.object({ queue: z.string(), n: int });

/** Everything GET /queues shows about one queue, from D1. */
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

/** A queue exists once a job names it or once it has a settings row. */
export async function queueExists(env: Env, name: string): Promise<boolean> {
  const row = await env.DB.prepare(`SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?1) OR EXISTS (SELECT 1 FROM jobs WHERE queue = ?1) AS found`)
    .bind(name)
    .first<{ found: number }>();
  return row?.found === 1;
}

/** Stats of every queue (or of the one named), sorted by name. */
export async function queueStats(env: Env, now: number, only?: string): Promise<QueueStats[]> {
  const where = only === undefined ? "" : "WHERE queue = ?1";
  const bind = (s: D1PreparedStatement) => (only === undefined ? s : s.bind(only));
  const [records, counts, finished] = await env.DB.batch([
    bind(env.DB.prepare(`SELECT * FROM queues ${only === undefined ? "" : "WHERE name = ?1"}`)),
    bind(env.DB.prepare(`SELECT queue, status, COUNT(*) AS n FROM jobs ${where} GROUP BY queue, status`)),
    env.DB.prepare(
      `SELECT queue, COUNT(*) AS n FROM jobs WHERE status IN ('completed', 'failed') AND completed_at >= ?1 ${only === undefined ? "" : "AND queue = ?2"} GROUP BY queue`,
    ).bind(...(only === undefined ? [now - THROUGHPUT_WINDOW_MS] : [now - THROUGHPUT_WINDOW_MS, only])),
  ]);
  const byName = new Map<string, QueueStats>();
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
        counts: { pending: 0, running: 0, completed: 0, failed: 0 },
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
    if (r.status in counts) counts[r.status as keyof typeof counts] = r.n;
  }
  for (const raw of finished.results) {
    const r = ThroughputRow.parse(raw);
    entry(r.queue).finishedLastHour = r.n;
  }
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

export type ClearableStatus = "pending" | "failed";

/**
 * Deletes up to `limit` jobs of a queue in the given statuses, with their attempts and logs, in one
 * transaction. A job that changed status in between (a pending job just claimed) is left alone.
 * Returns the ids actually deleted, by status.
 */
export async function deleteQueueJobs(env: Env, queue: string, statuses: ClearableStatus[], limit: number): Promise<{ selected: number; deleted: { id: string; status: ClearableStatus }[] }> {
  const { results } = await env.DB.prepare(`SELECT id FROM jobs WHERE queue = ?1 AND status IN (SELECT value FROM json_each(?2)) LIMIT ?3`)
    .bind(queue, JSON.stringify(statuses), limit)
    .all();
  const ids = results.map((r) => z.object({ id: z.string() }).parse(r).id);
  if (!ids.length) return { selected: 0, deleted: [] };
  const stillClearable = `SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND status IN (SELECT value FROM json_each(?2))`;
  const args = [JSON.stringify(ids), JSON.stringify(statuses)];
  const [, , jobsDeleted] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM job_logs WHERE job_id IN (${stillClearable})`).bind(...args),
    env.DB.prepare(`DELETE FROM job_attempts WHERE job_id IN (${stillClearable})`).bind(...args),
    env.DB.prepare(`DELETE FROM jobs WHERE id IN (${stillClearable}) RETURNING id, status`).bind(...args),
  ]);
  const Deleted = z.object({ id: z.string(), status: z.enum(["pending", "failed"]) });
  return { selected: ids.length, deleted: jobsDeleted.results.map((r) => Deleted.parse(r)) };
}

/** The names among these that no queue row, job or recurring job uses yet. */
export async function unusedQueueNames(env: Env, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  const { results } = await env.DB.prepare(
    `SELECT n.value AS name FROM json_each(?1) AS n
     WHERE NOT EXISTS (SELECT 1 FROM queues WHERE queues.name = n.value)
       AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.queue = n.value)
       AND NOT EXISTS (SELECT 1 FROM recurring_jobs WHERE recurring_jobs.queue = n.value)`,
  )
    .bind(JSON.stringify(unique))
    .all();
  return results.map((r) => z.object({ name: z.string() }).parse(r).name);
}

/**
 * Every queue name in use, with its configured workers (null: never configured, so the default).
 * Distinct job and recurring-job queues are walked one index seek per name, not one row per job.
 */
export async function queuesInUse(env: Env): Promise<{ name: string; workers: number | null }[]> {
  const { results } = await env.DB.prepare(
    `WITH RECURSIVE
       job_queues(name) AS (
         SELECT MIN(queue) FROM jobs
         UNION ALL SELECT (SELECT MIN(queue) FROM jobs WHERE queue > job_queues.name) FROM job_queues WHERE job_queues.name IS NOT NULL),
       recurring_queues(name) AS (
         SELECT MIN(queue) FROM recurring_jobs
         UNION ALL SELECT (SELECT MIN(queue) FROM recurring_jobs WHERE queue > recurring_queues.name) FROM recurring_queues WHERE recurring_queues.name IS NOT NULL),
       names(name) AS (
         SELECT name FROM job_queues WHERE name IS NOT NULL
         UNION SELECT name FROM recurring_queues WHERE name IS NOT NULL
         UNION SELECT name FROM queues)
     SELECT names.name AS name, queues.workers AS workers FROM names LEFT JOIN queues ON queues.name = names.name`,
  ).all();
  const Row = z.object({ name: z.string(), workers: int.nullable() });
  return results.map((r) => Row.parse(r));
}
