import { and, sql } from "drizzle-orm";
import { getDb } from "../db/client";
import { JobRowSchema } from "../db/job-row";
import { jobFilterSql, type JobFilter } from "../db/jobs";
import { jobs, type JobRow } from "../db/schema";
import { newestFirst, toJobSummary } from "../model/job";
import { readHistory } from "../maintenance/history-archive";
import { listLive, statusLiteral } from "../services/job-reads";
import type { Column } from "./stream";

/** Rows read per D1 query. */
export const EXPORT_PAGE_SIZE = 1000;

type ExportedJob = ReturnType<typeof toJobSummary> & { error: string | null };

export const JOB_COLUMNS: Column<ExportedJob>[] = (
  ["id", "name", "type", "queue", "status", "priority", "createdAt", "scheduledAt", "executedAt", "completedAt", "duration", "durationMs", "retryCount", "maxRetries", "attempts", "error"] as const
).map((name) => ({ name, value: (job) => job[name] }));

/**
 * Jobs matching the list filters, oldest first: the live jobs (read once, when the export starts)
 * merged with the archive, read in pages with keyset pagination on (created_at, id). A job both
 * live and archived (re-run) is exported as it is live.
 */
export async function* jobPages(env: Env, filter: JobFilter, limit: number): AsyncGenerator<ExportedJob[]> {
  const live = (await listLive(env, filter)).rows.reverse();
  const liveIds = new Set(live.map((r) => r.id));
  let next = 0;
  let remaining = limit;
  const take = (rows: JobRow[]) => {
    const out = rows.slice(0, remaining).map(exported);
    remaining -= out.length;
    return out;
  };
  for await (const page of archivedPages(env, filter)) {
    const rows: JobRow[] = [];
    for (const row of page) {
      while (next < live.length && newestFirst(live[next], row) > 0) rows.push(live[next++]);
      if (!liveIds.has(row.id)) rows.push(row);
    }
    const out = take(rows);
    if (out.length) yield out;
    if (remaining <= 0) return;
  }
  for (; next < live.length && remaining > 0; next += EXPORT_PAGE_SIZE) {
    const out = take(live.slice(next, next + EXPORT_PAGE_SIZE));
    if (out.length) yield out;
  }
}

/** One queue's jobs created on one UTC day that retention moved to R2 (ARCHIVE_BUCKET), oldest first. */
export async function* r2HistoryPages(bucket: R2Bucket, queue: string, day: string): AsyncGenerator<ExportedJob[]> {
  const records = await readHistory(bucket, queue, day);
  for (let i = 0; i < records.length; i += EXPORT_PAGE_SIZE) yield records.slice(i, i + EXPORT_PAGE_SIZE).map((r) => exported(r.job));
}

function exported(r: JobRow): ExportedJob {
  return { ...toJobSummary(r), error: r.error };
}

/**
 * Archived rows matching the filters, oldest first, a page per D1 query. `jobs` is a view over the
 * archive's tables: SQLite merges them in order, each walked by its `created_at` index (or its
 * failed-and-cancelled index when the status is one of those, named literally).
 */
async function* archivedPages(env: Env, filter: JobFilter): AsyncGenerator<JobRow[]> {
  const db = getDb(env);
  let cursor: { createdAt: number; id: string } | null = null;
  for (;;) {
    const after = cursor
      ? sql`${jobs.createdAt} >= ${cursor.createdAt} AND (${jobs.createdAt} > ${cursor.createdAt} OR ${jobs.id} > ${cursor.id})`
      : undefined;
    const where = and(jobFilterSql(filter), statusLiteral(filter), after);
    const raw = await db.all(
      sql`SELECT * FROM jobs ${where ? sql`WHERE ${where}` : sql``} ORDER BY created_at, id LIMIT ${EXPORT_PAGE_SIZE}`,
    );
    const rows = raw.map((r) => JobRowSchema.parse(r));
    if (rows.length) yield rows;
    if (rows.length < EXPORT_PAGE_SIZE) return;
    const last = rows[rows.length - 1];
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}

