import type { DomainEvent } from "../model/events";
import type { EventOutbox, Guard } from "./event-guards";
import { chunkJsonRows } from "../lib/collections";
import { ARCHIVE_COLUMNS, ensureArchiveTable, forgetArchiveTables } from "./archive-days";
import { jsonRows } from "./json-rows";
import { packLogPages } from "./log-pages";
import type { AttemptRow, JobRow } from "./schema";

/** A log line of an archived attempt. */
export type ArchivedLogLine = { attempt: number; level: string; message: string; details: string | null; stepName: string | null; createdAt: number };
/** One finished job as a queue's object flushes it: its final row, its attempts, the log lines of its attempts. */
export type ArchivedJob = { job: JobRow; attempts: AttemptRow[]; logs: ArchivedLogLine[] };
/**
 * One flush of one queue, identified by (queue, seq): replaying it must change nothing.
 * `maybeArchived`: the ids among `jobs` that may already have a row in D1 (revived or imported
 * jobs); a flush journaled before it was kept has none, and then every id may.
 */
export type ArchiveFlushInput = { queue: string; seq: number; at: number; jobs: ArchivedJob[]; events: DomainEvent[]; maybeArchived?: string[] };

/** Statuses an archived job can have; `job_counts` counts these. */
export const ARCHIVED_STATUSES = ["completed", "failed", "cancelled"] as const;

/**
 * The terms a query must carry, literally, to use the archive's partial indexes: SQLite uses a
 * partial index only when the query's own terms imply its condition, which bound values never do.
 * `jobs_live` (rows the previous engine left pending or running) needs LEFT_LIVE_TERM itself;
 * `jobs_status_created_at` (failed and cancelled) is implied by `status = 'failed'` or
 * `status = 'cancelled'`; `jobs_failed_completed_at` by `status = 'failed'`.
 */
export const LEFT_LIVE_TERM = "status IN ('pending', 'running')";

/** True exactly while the flush (queue, seq) has not been applied: every statement of the flush carries it. */
export function flushGuard(queue: string, seq: number): Guard {
  return { sql: `NOT EXISTS (SELECT 1 FROM archive_flushes WHERE queue = ? AND seq = ?)`, params: [queue, seq] };
}

const ATTEMPT_COLUMNS: [keyof AttemptRow, string][] = [
  ["jobId", "job_id"],
  ["attempt", "attempt"],
  ["status", "status"],
  ["startedAt", "started_at"],
  ["completedAt", "completed_at"],
  ["durationMs", "duration_ms"],
  ["error", "error"],
  ["retryAt", "retry_at"],
];

const extract = (cols: [string, string][]) => cols.map((_, i) => `v.value ->> ${i}`).join(", ");
const names = (cols: [string, string][]) => cols.map(([, c]) => c).join(", ");
const updates = (cols: [string, string][], key: string[]) =>
  cols
    .filter(([, c]) => !key.includes(c))
    .map(([, c]) => `${c} = excluded.${c}`)
    .join(", ");

/**
 * The D1 statements of one archive flush, to run as one `DB.batch` (one transaction). Every
 * statement carries the flush's marker guard and the marker is inserted last, so a flush replayed
 * after a crash (same queue, seq and content) writes nothing the second time.
 *
 * - `table` (the day table of the flush, see archive-days.ts): the final rows. A job revived and
 *   ended again had a row in this or an earlier day's table: that row is deleted first (through
 *   the `jobs` view, which finds it wherever it is; the rows that reference the job stay). Only
 *   `maybeArchived` ids are looked for: each costs a primary-key probe per day table.
 * - `job_counts`: archived jobs per (queue, status); a row that is replaced leaves its old status.
 * - `job_attempts`: only for jobs with more than one attempt; a one-attempt job's history is its row.
 * - `job_log_pages`: log lines packed per job attempt (see log-pages.ts).
 * - the event sinks' statements (webhook outbox, metric rollups) under the same guard.
 */
export function archiveFlushStatements(env: Env, input: ArchiveFlushInput, outbox: Pick<EventOutbox, "statements">, table: string): D1PreparedStatement[] {
  const guard = flushGuard(input.queue, input.seq);
  const g = guard.sql;
  const db = env.DB;
  const statements: D1PreparedStatement[] = [];
  // One final row per id (the last given), so the counters count each archived job once.
  const jobs = [...new Map(input.jobs.map((j) => [j.job.id, j.job])).values()];
  if (jobs.length) {
    const maybe = input.maybeArchived && new Set(input.maybeArchived);
    const prior = maybe ? jobs.filter((j) => maybe.has(j.id)) : jobs;
    if (prior.length) {
      const ids = JSON.stringify(prior.map((j) => j.id));
      statements.push(
        // Before the upsert: archived rows about to be overwritten leave their (queue, status) count.
        db
          .prepare(
            `INSERT INTO job_counts (queue, status, n)
             SELECT queue, status, -COUNT(*) FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND status IN ('completed', 'failed', 'cancelled') AND ${g}
             GROUP BY queue, status
             ON CONFLICT (queue, status) DO UPDATE SET n = n + excluded.n`,
          )
          .bind(ids, ...guard.params),
        // Reads only, unless the job was archived before: one primary-key probe per day table and job.
        db.prepare(`DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND ${g}`).bind(ids, ...guard.params),
      );
    }
    statements.push(
      db
        .prepare(
          `${jsonRows("?1")} INSERT INTO job_counts (queue, status, n)
           SELECT v.value ->> 0, v.value ->> 1, v.value ->> 2 FROM v WHERE ${g}
           ON CONFLICT (queue, status) DO UPDATE SET n = n + excluded.n`,
        )
        .bind(JSON.stringify(countsByQueueAndStatus(jobs)), ...guard.params),
    );
    for (const chunk of chunkJsonRows(jobs.map((j) => JSON.stringify(valuesOf(j, ARCHIVE_COLUMNS))))) {
      statements.push(
        db
          .prepare(
            `${jsonRows("?1")} INSERT INTO ${table} (${names(ARCHIVE_COLUMNS)}) SELECT ${extract(ARCHIVE_COLUMNS)} FROM v WHERE ${g}
             ON CONFLICT (id) DO UPDATE SET ${updates(ARCHIVE_COLUMNS, ["id"])}`,
          )
          .bind(chunk, ...guard.params),
      );
    }
  }
  const attempts = input.jobs.filter((j) => j.job.attempt > 1 || j.attempts.length > 1).flatMap((j) => j.attempts);
  for (const chunk of chunkJsonRows(attempts.map((a) => JSON.stringify(valuesOf(a, ATTEMPT_COLUMNS))))) {
    statements.push(
      db
        .prepare(
          `${jsonRows("?1")} INSERT INTO job_attempts (${names(ATTEMPT_COLUMNS)}) SELECT ${extract(ATTEMPT_COLUMNS)} FROM v WHERE ${g}
           ON CONFLICT (job_id, attempt) DO UPDATE SET ${updates(ATTEMPT_COLUMNS, ["job_id", "attempt"])}`,
        )
        .bind(chunk, ...guard.params),
    );
  }
  const pages = input.jobs.flatMap((j) => packLogPages(j.job.id, j.logs));
  for (const chunk of chunkJsonRows(pages.map((p) => JSON.stringify(p)))) {
    statements.push(
      db
        .prepare(
          `${jsonRows("?1")} INSERT INTO job_log_pages (job_id, attempt, page, lines)
           SELECT v.value ->> '$.jobId', v.value ->> '$.attempt', v.value ->> '$.page', v.value ->> '$.lines' FROM v WHERE ${g}
           ON CONFLICT (job_id, attempt, page) DO UPDATE SET lines = excluded.lines`,
        )
        .bind(chunk, ...guard.params),
    );
  }
  statements.push(...outbox.statements(env, input.events.map((event) => ({ event, guard }))));
  statements.push(db.prepare(`INSERT OR IGNORE INTO archive_flushes (queue, seq, at) VALUES (?, ?, ?)`).bind(input.queue, input.seq, input.at));
  return statements;
}

/**
 * Writes one archive flush into the day table of its time (`input.at`, so a replay goes where the
 * first try went), creating the table on first use. A table this isolate thought existed but was
 * dropped (only tests and the benchmark drop today's) is created again.
 */
export async function writeArchiveFlush(env: Env, input: ArchiveFlushInput, outbox: Pick<EventOutbox, "statements">): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const table = await ensureArchiveTable(env, input.at);
    try {
      await env.DB.batch(archiveFlushStatements(env, input, outbox, table));
      return;
    } catch (err) {
      if (attempt > 1 || !/no such table/i.test(String(err))) throw err;
      forgetArchiveTables();
    }
  }
}

/** `[queue, status, n]` for the archived statuses among these rows. */
function countsByQueueAndStatus(jobs: JobRow[]): [string, string, number][] {
  const counts = new Map<string, [string, string, number]>();
  for (const j of jobs) {
    if (!(ARCHIVED_STATUSES as readonly string[]).includes(j.status)) continue;
    const key = JSON.stringify([j.queue, j.status]);
    const c = counts.get(key) ?? [j.queue, j.status, 0];
    c[2]++;
    counts.set(key, c);
  }
  return [...counts.values()];
}

/** The row's values in the order of `cols`: what the insert's `v.value ->> i` reads. */
function valuesOf<T extends object>(row: T, cols: [keyof T, string][]): unknown[] {
  return cols.map(([k]) => row[k] ?? null);
}
