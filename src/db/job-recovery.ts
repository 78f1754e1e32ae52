import { and, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { Settings } from "../config";
import { retryDelayMs } from "../model/retry-policy";
import type { DueItem } from "../scheduler/messages";
import { jobEventData, makeEvent } from "../model/events";
import { jobStateGuard, type EventOutbox } from "./event-guards";
import { getDb } from "./client";
import { CANCELLED_WHILE_RUNNING, LEASE_EXPIRED, LEASE_EXPIRED_BEFORE_START } from "../model/attempt";
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

export { LEASE_EXPIRED, LEASE_EXPIRED_BEFORE_START };

/**
 * A running job whose lease passed lost its consumer. If its cancel was requested, it ends
 * cancelled. If its handler never started (no start mark), it goes back to pending at once
 * without using up a retry. Otherwise the attempt counts as failed: the job is retried if it has
 * retries left, else it fails. Either way it reaches exactly one state, and never pending with a
 * cancel request no claim would honour.
 */
export async function expireLease(env: Env, job: { id: string; attempt: number }, now: number, settings: Settings, outbox: EventOutbox): Promise<DueItem | null> {
  const db = getDb(env);
  const [current, mark] = await Promise.all([
    db.select().from(jobs).where(eq(jobs.id, job.id)).get(),
    env.DB.prepare(`SELECT handler_started_at AS at FROM job_attempts WHERE job_id = ? AND attempt = ?`).bind(job.id, job.attempt).first<{ at: number | null }>(),
  ]);
  if (!current || current.status !== "running" || current.attempt !== job.attempt) return null;
  const cancel = current.cancelRequested === 1;
  const started = mark?.at != null;
  const next: "cancelled" | "pending" | "failed" = cancel ? "cancelled" : !started || current.retryCount < current.maxRetries ? "pending" : "failed";
  const retryCount = current.retryCount + (next === "pending" && started ? 1 : 0);
  const runAt = started ? now + retryDelayMs(current.retryCount, settings) : now;
  const message = cancel ? CANCELLED_WHILE_RUNNING : started ? LEASE_EXPIRED : LEASE_EXPIRED_BEFORE_START;
  const ended = { completedAt: now, error: message };
  const event =
    next === "cancelled"
      ? makeEvent("job.cancelled", jobEventData(current, { status: "cancelled", previousStatus: "running", ...ended }), now)
      : next === "pending"
        ? makeEvent("job.retrying", jobEventData({ ...current, retryCount }, { status: "pending", previousStatus: "running", ...ended, nextRetryAt: runAt }), now)
        : makeEvent("job.failed", jobEventData(current, { status: "failed", previousStatus: "running", ...ended }), now);
  // The guard includes the cancel flag as read: a cancel requested meanwhile makes this write
  // nothing, and the next heal sees the request.
  const [updated] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET status = ?3, retry_count = ?4, run_at = CASE ?3 WHEN 'pending' THEN ?5 ELSE run_at END,
         completed_at = CASE ?3 WHEN 'pending' THEN completed_at ELSE ?1 END, cancel_requested = 0, lease_until = NULL, error = ?2, updated_at = ?1
       WHERE id = ?6 AND status = 'running' AND attempt = ?7 AND lease_until < ?1 AND cancel_requested = ?8
       RETURNING id, attempt, run_at, priority`,
    ).bind(now, message, next, retryCount, runAt, job.id, job.attempt, cancel ? 1 : 0),
    env.DB.prepare(
      `UPDATE job_attempts SET status = ?6, completed_at = ?1, duration_ms = ?1 - started_at, error = ?2, retry_at = ?3
       WHERE job_id = ?4 AND attempt = ?5 AND status = 'running'
         AND EXISTS (SELECT 1 FROM jobs WHERE id = ?4 AND status = ?7 AND attempt = ?5 AND updated_at = ?1)`,
    ).bind(now, started || cancel ? message : LEASE_EXPIRED_BEFORE_START, next === "pending" ? runAt : null, job.id, job.attempt, next === "cancelled" ? "cancelled" : "failed", next),
    ...outbox.statements(env, [{ event, guard: jobStateGuard(job.id, next, job.attempt, now) }]),
  ]);
  const row = updated.results[0] as { id: string; attempt: number; run_at: number; priority: number } | undefined;
  if (!row) return null;
  await outbox.deliver(env, [event]);
  return next === "pending" ? { jobId: row.id, attempt: row.attempt, runAt: row.run_at, priority: row.priority } : null;
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
