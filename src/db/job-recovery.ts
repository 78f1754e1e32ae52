import { and, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { Settings } from "../config";
import { retryDelayMs } from "../execution/retry-policy";
import type { DueItem } from "../scheduler/messages";
import { getDb } from "./client";
import { jobAttempts, jobs } from "./schema";

const RECOVERY_BATCH = 200;

export async function findExpiredLeases(env: Env, queue: string, now: number) {
  return getDb(env)
    .select({ id: jobs.id, attempt: jobs.attempt })
    .from(jobs)
    .where(and(eq(jobs.queue, queue), eq(jobs.status, "running"), lt(jobs.leaseUntil, now)))
    .limit(RECOVERY_BATCH)
    .all();
}

/**
 * A running job whose lease passed lost its consumer. The attempt counts as failed: the job is
 * retried if it has retries left, else it fails, so it still reaches exactly one terminal state.
 */
export async function expireLease(env: Env, job: { id: string; attempt: number }, now: number, settings: Settings): Promise<DueItem | null> {
  const db = getDb(env);
  const message = "The worker running this attempt stopped responding (lease expired).";
  const current = await db.select({ retryCount: jobs.retryCount, maxRetries: jobs.maxRetries }).from(jobs).where(eq(jobs.id, job.id)).get();
  if (!current) return null;
  const retry = current.retryCount < current.maxRetries;
  const runAt = now + retryDelayMs(current.retryCount, settings);
  const guard = and(eq(jobs.id, job.id), eq(jobs.status, "running"), eq(jobs.attempt, job.attempt), lt(jobs.leaseUntil, now));
  const [updated] = await db.batch([
    db
      .update(jobs)
      .set(
        retry
          ? { status: "pending", retryCount: sql`${jobs.retryCount} + 1`, runAt, leaseUntil: null, error: message, updatedAt: now }
          : { status: "failed", leaseUntil: null, error: message, completedAt: now, updatedAt: now },
      )
      .where(guard)
      .returning({ id: jobs.id, attempt: jobs.attempt, runAt: jobs.runAt, priority: jobs.priority, status: jobs.status }),
    db
      .update(jobAttempts)
      .set({ status: "failed", completedAt: now, durationMs: sql`${now} - ${jobAttempts.startedAt}`, error: message, retryAt: retry ? runAt : null })
      .where(and(eq(jobAttempts.jobId, job.id), eq(jobAttempts.attempt, job.attempt), eq(jobAttempts.status, "running"))),
  ]);
  const row = updated[0];
  return row && row.status === "pending" ? { jobId: row.id, attempt: row.attempt, runAt: row.runAt, priority: row.priority } : null;
}

export async function getJobStates(env: Env, ids: string[]) {
  const out = new Map<string, { status: string; attempt: number; runAt: number; priority: number }>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await getDb(env)
      .select({ id: jobs.id, status: jobs.status, attempt: jobs.attempt, runAt: jobs.runAt, priority: jobs.priority })
      .from(jobs)
      .where(inArray(jobs.id, ids.slice(i, i + 90)))
      .all();
    for (const r of rows) out.set(r.id, r);
  }
  return out;
}

export async function findDuePendingJobs(env: Env, queue: string, until: number): Promise<DueItem[]> {
  const rows = await getDb(env)
    .select({ jobId: jobs.id, attempt: jobs.attempt, runAt: jobs.runAt, priority: jobs.priority })
    .from(jobs)
    .where(and(eq(jobs.queue, queue), eq(jobs.status, "pending"), lte(jobs.runAt, until)))
    .orderBy(jobs.runAt)
    .limit(1000)
    .all();
  return rows;
}

/** Queues that have overdue pending jobs or expired leases: the ones the cron reconciler must heal. */
export async function queuesNeedingHeal(env: Env, now: number, overdueAfterMs: number): Promise<string[]> {
  const rows = await getDb(env)
    .selectDistinct({ queue: jobs.queue })
    .from(jobs)
    .where(
      sql`(${jobs.status} = 'pending' AND ${jobs.runAt} <= ${now - overdueAfterMs}) OR (${jobs.status} = 'running' AND ${jobs.leaseUntil} < ${now})`,
    )
    .all();
  return rows.map((r) => r.queue);
}
