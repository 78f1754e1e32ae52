import { eventStatements, jobStateGuard } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../events/types";
import { chunkByJsonSize } from "./jobs";
import { JobRowSchema } from "./job-row";
import type { JobRow } from "./schema";

/** Extra time past a job's timeout before its lease expires and the reconciler takes it back. */
export const LEASE_GRACE_MS = 30_000;

export type ClaimedJob = JobRow;
export type Claim = { job: ClaimedJob; event: DomainEvent };

/** One claim: see claimJobs. */
export async function claimJob(env: Env, msg: { jobId: string; attempt: number }, now: number): Promise<Claim | null> {
  return (await claimJobs(env, [msg], now)).get(msg.jobId) ?? null;
}

/**
 * Claims one attempt of each job: a conditional UPDATE that only one delivery of a message can win,
 * for a whole queue batch in one transaction. A duplicate message (same job, same attempt) finds
 * the job no longer pending and claims nothing. The job.started events' outbox statements commit
 * in the same transaction. Returns the claims by job id.
 */
export async function claimJobs(env: Env, msgs: { jobId: string; attempt: number }[], now: number): Promise<Map<string, Claim>> {
  const claims = new Map<string, Claim>();
  const wanted = new Map(msgs.map((m) => [m.jobId, m.attempt]));
  if (!wanted.size) return claims;
  const ids = JSON.stringify([...wanted.keys()]);
  const { results } = await env.DB.prepare(`SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?))`).bind(ids).all();
  const claimable = results
    .map((r) => JobRowSchema.parse(r))
    .filter((j) => j.status === "pending" && j.attempt === wanted.get(j.id) && j.runAt <= now && !j.cancelRequested);
  if (!claimable.length) return claims;
  const events = new Map(
    claimable.map((current) => {
      const attempt = current.attempt + 1;
      const event = makeEvent("job.started", jobEventData({ ...current, attempt, executedAt: now }, { status: "running", previousStatus: "pending" }), now);
      return [current.id, { event, guard: jobStateGuard(current.id, "running", attempt, now) }];
    }),
  );
  const expected = JSON.stringify(claimable.map((j) => ({ id: j.id, attempt: j.attempt })));
  // In these statements `+status` keeps SQLite from scanning every pending (or running) job through
  // the status indexes: each job is looked up by its id.
  const [claimed] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET status = 'running', attempt = attempt + 1, executed_at = ?1, lease_until = ?1 + COALESCE(timeout_ms, 60000) + ?3,
         progress = NULL, progress_message = NULL, updated_at = ?1
       FROM json_each(?2) v
       WHERE jobs.id = v.value ->> '$.id' AND jobs.attempt = v.value ->> '$.attempt' AND +status = 'pending' AND +run_at <= ?1 AND cancel_requested = 0
       RETURNING *`,
    ).bind(now, expected, LEASE_GRACE_MS),
    env.DB.prepare(
      `INSERT OR IGNORE INTO job_attempts (job_id, attempt, status, started_at)
       SELECT id, attempt, 'running', executed_at FROM jobs
       WHERE id IN (SELECT value ->> '$.id' FROM json_each(?1)) AND +status = 'running' AND updated_at = ?2
         AND attempt = 1 + (SELECT value ->> '$.attempt' FROM json_each(?1) WHERE value ->> '$.id' = jobs.id)`,
    ).bind(expected, now),
    ...eventStatements(env, [...events.values()]),
  ]);
  for (const row of claimed.results) {
    const job = JobRowSchema.parse(row);
    claims.set(job.id, { job, event: events.get(job.id)!.event });
  }
  return claims;
}

export type LogLine = { level: string; message: string; details: string | null; stepName: string | null; createdAt: number };

export type AttemptOutcome =
  | { kind: "completed"; result: string }
  | { kind: "retry"; error: string; runAt: number; result: string | null }
  | { kind: "failed"; error: string; result: string | null }
  | { kind: "cancelled"; error: string };

export type FinishedAttempt = {
  job: { id: string; attempt: number; executedAt: number };
  outcome: AttemptOutcome;
  logs: LogLine[];
  /** When the attempt ended. */
  at: number;
  progress: { percent: number; message: string | null } | null;
  event: DomainEvent;
};

/**
 * Records the end of many attempts (job state, history row, log lines, event outboxes) in one
 * transaction, whatever each outcome. Returns the ids whose attempt was still running, i.e. whose
 * end was recorded; the others had been settled meanwhile (an expired lease) and are left as they are.
 */
export async function finishAttempts(env: Env, finished: FinishedAttempt[]): Promise<Set<string>> {
  if (!finished.length) return new Set();
  const rows = finished.map(({ job, outcome, at, progress }) => ({
    id: job.id,
    attempt: job.attempt,
    kind: outcome.kind,
    status: outcome.kind === "retry" ? "pending" : outcome.kind,
    result: "result" in outcome ? outcome.result : null,
    error: outcome.kind === "completed" ? null : outcome.error,
    runAt: outcome.kind === "retry" ? outcome.runAt : null,
    at,
    duration: at - job.executedAt,
    percent: progress?.percent ?? null,
    message: progress?.message ?? null,
  }));
  const json = JSON.stringify(rows);
  const logLines = finished.flatMap(({ job, logs }) => logs.map((l) => ({ ...l, jobId: job.id, attempt: job.attempt })));
  // Per outcome: a retry goes back to pending (progress as reported); completed keeps earlier progress
  // when none was reported; failed keeps an earlier result when it has none.
  const [update] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET
         status = v.value ->> '$.status',
         error = v.value ->> '$.error',
         result = CASE v.value ->> '$.kind' WHEN 'cancelled' THEN jobs.result WHEN 'failed' THEN COALESCE(v.value ->> '$.result', jobs.result) ELSE v.value ->> '$.result' END,
         completed_at = CASE v.value ->> '$.kind' WHEN 'retry' THEN jobs.completed_at ELSE v.value ->> '$.at' END,
         run_at = COALESCE(v.value ->> '$.runAt', jobs.run_at),
         retry_count = jobs.retry_count + (v.value ->> '$.kind' = 'retry'),
         cancel_requested = CASE v.value ->> '$.kind' WHEN 'retry' THEN jobs.cancel_requested ELSE 0 END,
         progress = CASE v.value ->> '$.kind' WHEN 'completed' THEN COALESCE(v.value ->> '$.percent', jobs.progress) ELSE v.value ->> '$.percent' END,
         progress_message = CASE v.value ->> '$.kind' WHEN 'completed' THEN COALESCE(v.value ->> '$.message', jobs.progress_message) ELSE v.value ->> '$.message' END,
         lease_until = NULL,
         updated_at = v.value ->> '$.at'
       FROM json_each(?) v
       WHERE jobs.id = v.value ->> '$.id' AND +jobs.status = 'running' AND jobs.attempt = v.value ->> '$.attempt'
       RETURNING jobs.id`,
    ).bind(json),
    env.DB.prepare(
      `UPDATE job_attempts SET
         status = CASE v.value ->> '$.kind' WHEN 'retry' THEN 'failed' ELSE v.value ->> '$.kind' END,
         completed_at = v.value ->> '$.at', duration_ms = v.value ->> '$.duration', error = v.value ->> '$.error', retry_at = v.value ->> '$.runAt'
       FROM json_each(?) v
       WHERE job_attempts.job_id = v.value ->> '$.id' AND job_attempts.attempt = v.value ->> '$.attempt' AND job_attempts.status = 'running'`,
    ).bind(json),
    ...chunkByJsonSize(logLines).map((chunk) =>
      env.DB.prepare(
        `INSERT INTO job_logs (job_id, attempt, level, message, details, step_name, created_at)
         SELECT value ->> '$.jobId', value ->> '$.attempt', value ->> '$.level', value ->> '$.message', value ->> '$.details', value ->> '$.stepName', value ->> '$.createdAt'
         FROM json_each(?)`,
      ).bind(chunk),
    ),
    ...eventStatements(
      env,
      finished.map(({ job, outcome, at, event }) => ({ event, guard: jobStateGuard(job.id, outcome.kind === "retry" ? "pending" : outcome.kind, job.attempt, at) })),
    ),
  ]);
  return new Set(update.results.map((r) => String((r as { id: unknown }).id)));
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
