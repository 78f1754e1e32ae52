import { and, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { Settings } from "../config";
import { retryDelayMs } from "../execution/retry-policy";
import type { DueItem } from "../scheduler/messages";
import { deliverEvents, eventStatements, jobStateGuard } from "../events/publisher";
import { jobEventData, makeEvent } from "../events/types";
import { getDb } from "./client";
import { jobs } from "./schema";

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
  const current = await db.select().from(jobs).where(eq(jobs.id, job.id)).get();
  if (!current || current.status !== "running" || current.attempt !== job.attempt) return null;
  const retry = current.retryCount < current.maxRetries;
  const runAt = now + retryDelayMs(current.retryCount, settings);
  const event = retry
    ? makeEvent("job.retrying", jobEventData(current, { status: "pending", previousStatus: "running", completedAt: now, error: message, nextRetryAt: runAt }), now)
    : makeEvent("job.failed", jobEventData(current, { status: "failed", previousStatus: "running", completedAt: now, error: message }), now);
  const guard = `WHERE id = ?4 AND status = 'running' AND attempt = ?5 AND lease_until < ?1 RETURNING id, attempt, run_at, priority`;
  const [updated] = await env.DB.batch([
    retry
      ? env.DB.prepare(`UPDATE jobs SET status = 'pending', retry_count = retry_count + 1, run_at = ?3, lease_until = NULL, error = ?2, updated_at = ?1 ${guard}`)
          .bind(now, message, runAt, job.id, job.attempt)
      : env.DB.prepare(`UPDATE jobs SET status = 'failed', lease_until = NULL, error = ?2, completed_at = ?1, updated_at = ?1 ${guard.replace("?3", "")}`)
          .bind(now, message, null, job.id, job.attempt),
    env.DB.prepare(
      `UPDATE job_attempts SET status = 'failed', completed_at = ?1, duration_ms = ?1 - started_at, error = ?2, retry_at = ?3
       WHERE job_id = ?4 AND attempt = ?5 AND status = 'running'`,
    ).bind(now, message, retry ? runAt : null, job.id, job.attempt),
    ...eventStatements(env, [{ event, guard: jobStateGuard(job.id, retry ? "pending" : "failed", job.attempt, now) }]),
  ]);
  const row = updated.results[0] as { id: string; attempt: number; run_at: number; priority: number } | undefined;
  if (!row) return null;
  await deliverEvents(env, [event]);
  return retry ? { jobId: row.id, attempt: row.attempt, runAt: row.run_at, priority: row.priority } : null;
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
