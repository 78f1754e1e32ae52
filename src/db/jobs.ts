import { and, asc, count, desc, eq, gte, lte, or, sql, type SQL } from "drizzle-orm";
import type { JobStatus } from "../model/job";
import type { DomainEvent } from "../model/events";
import { z } from "zod";
import type { EventOutbox } from "./event-guards";
import { getDb } from "./client";
import { JobRowSchema } from "./job-row";
import { jobAttempts, jobLogs, jobs, type JobInsert, type JobRow } from "./schema";

/** Idempotency keys are honoured for this long. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export type NewJob = Pick<JobInsert, "id" | "queue" | "type" | "name" | "priority" | "parameters" | "runAt" | "maxRetries" | "timeoutMs" | "idempotencyKey" | "requestHash" | "createdAt"> &
  Partial<Pick<JobInsert, "recurringId" | "scheduledFor">>;

/** A request's idempotency key (already scoped to its principal) and the job it created. */
export type IdempotencyRecord = { key: string; jobId: string; requestHash: string; createdAt: number };

const IdempotencyRow = z.object({ key: z.string(), job_id: z.string(), request_hash: z.string(), created_at: z.number().int() });

/** The keys recorded within the window, by key. */
export async function findIdempotencyKeys(env: Env, keys: string[], now: number): Promise<Map<string, IdempotencyRecord>> {
  const out = new Map<string, IdempotencyRecord>();
  if (!keys.length) return out;
  const { results } = await env.DB.prepare(
    `SELECT key, job_id, request_hash, created_at FROM idempotency_keys WHERE key IN (SELECT value FROM json_each(?1)) AND created_at >= ?2`,
  )
    .bind(JSON.stringify(keys), now - IDEMPOTENCY_WINDOW_MS)
    .all();
  for (const row of results) {
    const r = IdempotencyRow.parse(row);
    out.set(r.key, { key: r.key, jobId: r.job_id, requestHash: r.request_hash, createdAt: r.created_at });
  }
  return out;
}

/**
 * Records new keys. A key older than the window is forgotten first, so it can be used again; a key
 * another request recorded meanwhile makes the batch fail (see isIdempotencyKeyRace).
 */
export function idempotencyKeyStatements(env: Env, records: IdempotencyRecord[], now: number): D1PreparedStatement[] {
  if (!records.length) return [];
  const json = JSON.stringify(records);
  return [
    env.DB.prepare(`DELETE FROM idempotency_keys WHERE key IN (SELECT value ->> '$.key' FROM json_each(?1)) AND created_at < ?2`).bind(
      json,
      now - IDEMPOTENCY_WINDOW_MS,
    ),
    env.DB.prepare(
      `INSERT INTO idempotency_keys (key, job_id, request_hash, created_at)
       SELECT value ->> '$.key', value ->> '$.jobId', value ->> '$.requestHash', value ->> '$.createdAt' FROM json_each(?1)`,
    ).bind(json),
  ];
}

/** True when a batch failed because an idempotency key was recorded by a concurrent request. */
export function isIdempotencyKeyRace(err: unknown): boolean {
  return String(err).includes("UNIQUE constraint failed: idempotency_keys.key");
}

export async function getJobsByIds(env: Env, ids: string[]): Promise<JobRow[]> {
  if (!ids.length) return [];
  const rows = await getDb(env)
    .select()
    .from(jobs)
    .where(sql`${jobs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)
    .all();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is JobRow => !!r);
}

export async function getJob(env: Env, id: string) {
  return getDb(env).select().from(jobs).where(eq(jobs.id, id)).get();
}

export async function getJobWithAttempts(env: Env, id: string) {
  const db = getDb(env);
  const [job, attempts] = await db.batch([
    db.select().from(jobs).where(eq(jobs.id, id)),
    db.select().from(jobAttempts).where(eq(jobAttempts.jobId, id)).orderBy(asc(jobAttempts.attempt)),
  ]);
  return job[0] ? { job: job[0], attempts } : null;
}

export type JobFilter = { status?: JobStatus; type?: string; queue?: string; recurringId?: string; from?: number; to?: number; search?: string };

export function jobFilterSql(f: JobFilter): SQL | undefined {
  return and(
    f.status ? eq(jobs.status, f.status) : undefined,
    f.type ? eq(jobs.type, f.type) : undefined,
    f.queue ? eq(jobs.queue, f.queue) : undefined,
    f.recurringId ? eq(jobs.recurringId, f.recurringId) : undefined,
    f.from != null ? gte(jobs.createdAt, f.from) : undefined,
    f.to != null ? lte(jobs.createdAt, f.to) : undefined,
    f.search ? or(eq(jobs.id, f.search), sql`${jobs.name} LIKE ${`%${f.search.replace(/[\\%_]/g, "\\$&")}%`} ESCAPE '\\'`) : undefined,
  );
}

export async function listJobs(env: Env, filter: JobFilter, page: { limit: number; offset: number }) {
  const db = getDb(env);
  const where = jobFilterSql(filter);
  const [rows, total] = await db.batch([
    db.select().from(jobs).where(where).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(page.limit).offset(page.offset),
    db.select({ n: count() }).from(jobs).where(where),
  ]);
  return { rows, totalCount: total[0]?.n ?? 0 };
}

export async function getJobLogs(env: Env, jobId: string, limit = 1000) {
  return getDb(env).select().from(jobLogs).where(eq(jobLogs.jobId, jobId)).orderBy(asc(jobLogs.id)).limit(limit).all();
}

export async function countJobs(env: Env): Promise<number> {
  const row = await getDb(env).select({ n: count() }).from(jobs).get();
  return row?.n ?? 0;
}

export const CANCELLED_BEFORE_START = "Cancelled before it started.";

/** pending → cancelled at once, with the event's outbox statements in the same transaction. */
export async function cancelPendingJob(env: Env, id: string, now: number, event: DomainEvent, outbox: EventOutbox) {
  const [updated] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET status = 'cancelled', completed_at = ?1, updated_at = ?1, error = ?2 WHERE id = ?3 AND status = 'pending' RETURNING *`,
    ).bind(now, CANCELLED_BEFORE_START, id),
    ...outbox.statements(env, [{ event, guard: { sql: `EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = 'cancelled' AND updated_at = ?)`, params: [id, now] } }]),
  ]);
  const row = updated.results[0];
  return row ? JobRowSchema.parse(row) : undefined;
}

/** running → cancel requested; the consumer sees the flag and aborts the handler's signal. */
export async function requestCancelRunningJob(env: Env, id: string, now: number) {
  const rows = await getDb(env)
    .update(jobs)
    .set({ cancelRequested: 1, updatedAt: now })
    .where(and(eq(jobs.id, id), eq(jobs.status, "running")))
    .returning();
  return rows[0];
}

/** Puts a job back to pending (re-run or retry). `from` restricts which statuses may be re-queued. */
export async function requeueJob(
  env: Env,
  id: string,
  from: JobStatus[],
  change: { runAt: number; priority?: number; resetRetryCount: boolean; now: number },
) {
  const rows = await getDb(env)
    .update(jobs)
    .set({
      status: "pending",
      runAt: change.runAt,
      ...(change.priority != null ? { priority: change.priority } : {}),
      ...(change.resetRetryCount ? { retryCount: 0 } : {}),
      cancelRequested: 0,
      completedAt: null,
      leaseUntil: null,
      updatedAt: change.now,
    })
    .where(and(eq(jobs.id, id), sql`${jobs.status} IN (SELECT value FROM json_each(${JSON.stringify(from)}))`))
    .returning();
  return rows[0];
}
