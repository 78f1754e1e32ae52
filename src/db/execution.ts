import { jobEventData, makeEvent, type DomainEvent } from "../model/events";
import { jobStateGuard, type EventOutbox } from "./event-guards";
import { chunkByJsonSize } from "./jobs";
import { JobRowSchema } from "./job-row";
import type { JobRow } from "./schema";
import { MAX_TIMEOUT_SECONDS } from "../model/job";

/** Extra time past a job's timeout before its lease expires and the reconciler takes it back. */
export const LEASE_GRACE_MS = 30_000;

export type ClaimedJob = JobRow;
export type Claim = { job: ClaimedJob; event: DomainEvent };

/** One claim: see claimJobs. */
export async function claimJob(env: Env, msg: { jobId: string; attempt: number }, now: number, outbox: EventOutbox): Promise<Claim | null> {
  return (await claimJobs(env, [msg], now, outbox)).get(msg.jobId) ?? null;
}

/**
 * Claims one attempt of each job: a conditional UPDATE that only one delivery of a message can win,
 * for a whole queue batch in one transaction. A duplicate message (same job, same attempt) finds
 * the job no longer pending and claims nothing. The job.started events' outbox statements commit
 * in the same transaction. Returns the claims by job id.
 */
export async function claimJobs(env: Env, msgs: { jobId: string; attempt: number }[], now: number, outbox: EventOutbox): Promise<Map<string, Claim>> {
  const claims = new Map<string, Claim>();
  // Every attempt asked for, per job: of two messages for one job in a batch, the current one wins
  // whichever came last.
  const wanted = new Map<string, Set<number>>();
  for (const m of msgs) wanted.set(m.jobId, (wanted.get(m.jobId) ?? new Set()).add(m.attempt));
  if (!wanted.size) return claims;
  const ids = JSON.stringify([...wanted.keys()]);
  const { results } = await env.DB.prepare(`SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(?))`).bind(ids).all();
  const claimable = results
    .map((r) => JobRowSchema.parse(r))
    .filter((j) => j.status === "pending" && wanted.get(j.id)?.has(j.attempt) && j.runAt <= now && !j.cancelRequested);
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
      `UPDATE jobs SET status = 'running', attempt = attempt + 1, executed_at = ?1, lease_until = ?1 + MIN(COALESCE(timeout_ms, 60000), ?4) + ?3,
         progress = NULL, progress_message = NULL, updated_at = ?1
       FROM json_each(?2) v
       WHERE jobs.id = v.value ->> '$.id' AND jobs.attempt = v.value ->> '$.attempt' AND +status = 'pending' AND +run_at <= ?1 AND cancel_requested = 0
       RETURNING *`,
    ).bind(now, expected, LEASE_GRACE_MS, MAX_TIMEOUT_SECONDS * 1000),
    env.DB.prepare(
      `INSERT OR IGNORE INTO job_attempts (job_id, attempt, status, started_at)
       SELECT id, attempt, 'running', executed_at FROM jobs
       WHERE id IN (SELECT value ->> '$.id' FROM json_each(?1)) AND +status = 'running' AND updated_at = ?2
         AND attempt = 1 + (SELECT value ->> '$.attempt' FROM json_each(?1) WHERE value ->> '$.id' = jobs.id)`,
    ).bind(expected, now),
    ...outbox.statements(env, [...events.values()]),
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
  /** For a retry: the event announced instead when a cancel request made the attempt the job's last. */
  cancelEvent?: DomainEvent;
};

/** The job's error once a cancel request has ended it while (or just after) an attempt ran. */
export const CANCELLED_WHILE_RUNNING = "Cancelled while running.";

/**
 * Records the end of many attempts (job state, history row, log lines, event outboxes) in one
 * transaction, whatever each outcome. A retry of a job whose cancel was requested ends it
 * `cancelled` instead: a cancel request is never carried back to pending, where no claim would
 * take the job. Returns the status each recorded job now has, by id; jobs missing from it had
 * been settled meanwhile (an expired lease) and are left as they are.
 */
export async function finishAttempts(env: Env, finished: FinishedAttempt[], outbox: EventOutbox): Promise<Map<string, string>> {
  if (!finished.length) return new Map();
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
  // The outcome as recorded: SET expressions read the row as it was, so this sees the cancel request.
  const kind = `(CASE WHEN v.value ->> '$.kind' = 'retry' AND jobs.cancel_requested = 1 THEN 'cancelled' ELSE v.value ->> '$.kind' END)`;
  // Per outcome: a retry goes back to pending (progress as reported); completed keeps earlier progress
  // when none was reported; failed keeps an earlier result when it has none.
  const [update] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE jobs SET
         status = CASE ${kind} WHEN 'retry' THEN 'pending' ELSE ${kind} END,
         error = CASE WHEN ${kind} = 'cancelled' AND v.value ->> '$.kind' = 'retry' THEN ?2 ELSE v.value ->> '$.error' END,
         result = CASE ${kind} WHEN 'cancelled' THEN jobs.result WHEN 'failed' THEN COALESCE(v.value ->> '$.result', jobs.result) ELSE v.value ->> '$.result' END,
         completed_at = CASE ${kind} WHEN 'retry' THEN jobs.completed_at ELSE v.value ->> '$.at' END,
         run_at = CASE ${kind} WHEN 'retry' THEN v.value ->> '$.runAt' ELSE jobs.run_at END,
         retry_count = jobs.retry_count + (${kind} = 'retry'),
         cancel_requested = 0,
         progress = CASE ${kind} WHEN 'completed' THEN COALESCE(v.value ->> '$.percent', jobs.progress) ELSE v.value ->> '$.percent' END,
         progress_message = CASE ${kind} WHEN 'completed' THEN COALESCE(v.value ->> '$.message', jobs.progress_message) ELSE v.value ->> '$.message' END,
         lease_until = NULL,
         updated_at = v.value ->> '$.at'
       FROM json_each(?1) v
       WHERE jobs.id = v.value ->> '$.id' AND +jobs.status = 'running' AND jobs.attempt = v.value ->> '$.attempt'
       RETURNING jobs.id, jobs.status`,
    ).bind(json, CANCELLED_WHILE_RUNNING),
    env.DB.prepare(
      `UPDATE job_attempts SET
         status = CASE v.value ->> '$.kind' WHEN 'retry' THEN
             CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.id = job_attempts.job_id AND j.status = 'cancelled' AND j.attempt = job_attempts.attempt) THEN 'cancelled' ELSE 'failed' END
           ELSE v.value ->> '$.kind' END,
         completed_at = v.value ->> '$.at', duration_ms = v.value ->> '$.duration', error = v.value ->> '$.error',
         retry_at = CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.id = job_attempts.job_id AND j.status = 'pending') THEN v.value ->> '$.runAt' END
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
    // Each guard holds only for the state the job really reached, so of a retry's two events one is kept.
    ...outbox.statements(
      env,
      finished.flatMap(({ job, outcome, at, event, cancelEvent }) => [
        { event, guard: jobStateGuard(job.id, outcome.kind === "retry" ? "pending" : outcome.kind, job.attempt, at) },
        ...(outcome.kind === "retry" && cancelEvent ? [{ event: cancelEvent, guard: jobStateGuard(job.id, "cancelled", job.attempt, at) }] : []),
      ]),
    ),
  ]);
  return new Map(update.results.map((r) => [String((r as { id: unknown }).id), String((r as { status: unknown }).status)]));
}

/**
 * Marks claimed attempts as handed to their handlers. An attempt whose lease expires without this
 * mark never ran, so its expiry does not use up a retry (see expireLease).
 */
export async function markHandlersStarted(env: Env, attempts: { id: string; attempt: number }[], now: number): Promise<void> {
  if (!attempts.length) return;
  await env.DB.prepare(
    `UPDATE job_attempts SET handler_started_at = ?1 FROM json_each(?2) v
     WHERE job_attempts.job_id = v.value ->> '$.id' AND job_attempts.attempt = v.value ->> '$.attempt'`,
  )
    .bind(now, JSON.stringify(attempts))
    .run();
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
