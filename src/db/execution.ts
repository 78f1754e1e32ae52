import { eventStatements, jobStateGuard } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../events/types";
import { getJob } from "./jobs";
import { JobRowSchema } from "./job-row";
import type { JobRow } from "./schema";

/** Extra time past a job's timeout before its lease expires and the reconciler takes it back. */
export const LEASE_GRACE_MS = 30_000;

export type ClaimedJob = JobRow;

/**
 * Claims one attempt of a job: a conditional UPDATE that only one delivery of a message can win.
 * A duplicate message (same job, same attempt) finds the job no longer pending and gets null.
 * The job.started event's outbox statements commit in the same transaction.
 */
export async function claimJob(env: Env, msg: { jobId: string; attempt: number }, now: number): Promise<{ job: ClaimedJob; event: DomainEvent } | null> {
  const current = await getJob(env, msg.jobId);
  if (!current || current.status !== "pending" || current.attempt !== msg.attempt || current.runAt > now || current.cancelRequested) return null;
  const attempt = msg.attempt + 1;
  const event = makeEvent(
    "job.started",
    jobEventData({ ...current, attempt, executedAt: now }, { status: "running", previousStatus: "pending" }),
    now,
  );
  const [claimed] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET status = 'running', attempt = attempt + 1, executed_at = ?1, lease_until = ?1 + COALESCE(timeout_ms, 60000) + ?4,
         progress = NULL, progress_message = NULL, updated_at = ?1
       WHERE id = ?2 AND status = 'pending' AND attempt = ?3 AND run_at <= ?1 AND cancel_requested = 0
       RETURNING *`,
    ).bind(now, msg.jobId, msg.attempt, LEASE_GRACE_MS),
    env.DB.prepare(
      `INSERT OR IGNORE INTO job_attempts (job_id, attempt, status, started_at)
       SELECT id, attempt, 'running', executed_at FROM jobs WHERE id = ?1 AND status = 'running' AND attempt = ?2 AND updated_at = ?3`,
    ).bind(msg.jobId, attempt, now),
    ...eventStatements(env, [{ event, guard: jobStateGuard(msg.jobId, "running", attempt, now) }]),
  ]);
  const row = claimed.results[0];
  return row ? { job: JobRowSchema.parse(row), event } : null;
}

export type LogLine = { level: string; message: string; details: string | null; stepName: string | null; createdAt: number };

export type AttemptOutcome =
  | { kind: "completed"; result: string }
  | { kind: "retry"; error: string; runAt: number; result: string | null }
  | { kind: "failed"; error: string; result: string | null }
  | { kind: "cancelled"; error: string };

/** Records the end of an attempt, its history row and its log lines in one transaction. */
export async function finishAttempt(
  env: Env,
  job: { id: string; attempt: number; executedAt: number },
  outcome: AttemptOutcome,
  logs: LogLine[],
  now: number,
  progress: { percent: number; message: string | null } | null,
  event: DomainEvent,
): Promise<boolean> {
  const statements: D1PreparedStatement[] = [];
  const duration = now - job.executedAt;
  const guard = `WHERE id = ? AND status = 'running' AND attempt = ?`;
  const pct = progress?.percent ?? null;
  const pmsg = progress?.message ?? null;
  switch (outcome.kind) {
    case "completed":
      statements.push(
        env.DB.prepare(
          `UPDATE jobs SET status = 'completed', result = ?, error = NULL, completed_at = ?, lease_until = NULL, cancel_requested = 0,
             progress = COALESCE(?, progress), progress_message = COALESCE(?, progress_message), updated_at = ? ${guard} RETURNING id`,
        ).bind(outcome.result, now, pct, pmsg, now, job.id, job.attempt),
      );
      break;
    case "retry":
      statements.push(
        env.DB.prepare(
          `UPDATE jobs SET status = 'pending', retry_count = retry_count + 1, run_at = ?, error = ?, result = ?, lease_until = NULL,
             progress = ?, progress_message = ?, updated_at = ? ${guard} RETURNING id`,
        ).bind(outcome.runAt, outcome.error, outcome.result, pct, pmsg, now, job.id, job.attempt),
      );
      break;
    case "failed":
    case "cancelled":
      statements.push(
        env.DB.prepare(
          `UPDATE jobs SET status = ?, error = ?, result = COALESCE(?, result), completed_at = ?, lease_until = NULL, cancel_requested = 0,
             progress = ?, progress_message = ?, updated_at = ? ${guard} RETURNING id`,
        ).bind(outcome.kind, outcome.error, outcome.kind === "failed" ? outcome.result : null, now, pct, pmsg, now, job.id, job.attempt),
      );
      break;
  }
  statements.push(
    env.DB.prepare(
      `UPDATE job_attempts SET status = ?, completed_at = ?, duration_ms = ?, error = ?, retry_at = ? WHERE job_id = ? AND attempt = ? AND status = 'running'`,
    ).bind(
      outcome.kind === "retry" ? "failed" : outcome.kind,
      now,
      duration,
      outcome.kind === "completed" ? null : outcome.error,
      outcome.kind === "retry" ? outcome.runAt : null,
      job.id,
      job.attempt,
    ),
  );
  if (logs.length) {
    statements.push(
      env.DB.prepare(
        `INSERT INTO job_logs (job_id, attempt, level, message, details, step_name, created_at)
         SELECT ?1, ?2, value ->> '$.level', value ->> '$.message', value ->> '$.details', value ->> '$.stepName', value ->> '$.createdAt'
         FROM json_each(?3)`,
      ).bind(job.id, job.attempt, JSON.stringify(logs)),
    );
  }
  const newStatus = outcome.kind === "retry" ? "pending" : outcome.kind;
  statements.push(...eventStatements(env, [{ event, guard: jobStateGuard(job.id, newStatus, job.attempt, now) }]));
  const [update] = await env.DB.batch(statements);
  return update.results.length > 0;
}

export async function isCancelRequested(env: Env, jobId: string): Promise<boolean> {
  const row = await env.DB.prepare(`SELECT cancel_requested AS c FROM jobs WHERE id = ?`).bind(jobId).first<{ c: number }>();
  return row?.c === 1;
}

export async function saveProgress(env: Env, jobId: string, attempt: number, percent: number, message: string | null): Promise<void> {
  await env.DB.prepare(`UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND status = 'running' AND attempt = ?`)
    .bind(percent, message, jobId, attempt)
    .run();
}
