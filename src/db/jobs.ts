import { and, eq, gte, lte, or, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { JobStatus } from "../model/job";
import { jobs, type JobInsert } from "./schema";

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
