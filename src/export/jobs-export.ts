import { and, sql } from "drizzle-orm";
import { getDb } from "../db/client";
import { JobRowSchema } from "../db/job-row";
import { jobFilterSql, type JobFilter } from "../db/jobs";
import { jobs } from "../db/schema";
import { toJobSummary } from "../model/job";
import type { Column } from "./stream";

/** Rows read per D1 query. */
export const EXPORT_PAGE_SIZE = 1000;

type ExportedJob = ReturnType<typeof toJobSummary> & { error: string | null };

export const JOB_COLUMNS: Column<ExportedJob>[] = (
  ["id", "name", "type", "queue", "status", "priority", "createdAt", "scheduledAt", "executedAt", "completedAt", "duration", "durationMs", "retryCount", "maxRetries", "attempts", "error"] as const
).map((name) => ({ name, value: (job) => job[name] }));

/**
 * Jobs matching the list filters, oldest first, in pages read with keyset pagination on
 * (created_at, id). The index is named because the planner would otherwise take the queue index
 * for a queue filter and sort every job of the queue for each page.
 */
export async function* jobPages(env: Env, filter: JobFilter, limit: number): AsyncGenerator<ExportedJob[]> {
  const db = getDb(env);
  const index = sql.raw(filter.status ? "jobs_status_created_at" : "jobs_created_at");
  let cursor: { createdAt: number; id: string } | null = null;
  for (let remaining = limit; remaining > 0; ) {
    const after = cursor
      ? sql`${jobs.createdAt} >= ${cursor.createdAt} AND (${jobs.createdAt} > ${cursor.createdAt} OR ${jobs.id} > ${cursor.id})`
      : undefined;
    const where = and(jobFilterSql(filter), after);
    const size = Math.min(EXPORT_PAGE_SIZE, remaining);
    const raw = await db.all(sql`SELECT * FROM jobs INDEXED BY ${index} ${where ? sql`WHERE ${where}` : sql``} ORDER BY created_at, id LIMIT ${size}`);
    const rows = raw.map((r) => JobRowSchema.parse(r));
    if (!rows.length) return;
    yield rows.map((r) => ({ ...toJobSummary(r), error: r.error }));
    remaining -= rows.length;
    if (rows.length < size) return;
    const last = rows[rows.length - 1];
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}
