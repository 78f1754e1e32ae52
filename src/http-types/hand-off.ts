import { readSettings } from "../config";
import { finishAttempts, type AttemptOutcome, type LogLine } from "../db/execution";
import { chunkByJsonSize, getJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { deliverEvents, eventOutbox } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../model/events";
import { retryDelayMs } from "../model/retry-policy";
import { armJobsBestEffort, releaseSlots } from "../scheduler/client";
import { sendCancelNotice } from "./runner";
import { settleCallback } from "./store";

export const CANCELLED_WHILE_WAITING = "Cancelled while waiting for the service's callback.";

/**
 * The consumer's side of an attempt answered 202: its log lines so far are kept and its queue slot
 * is given back (the service, not this Worker, is doing the work); the job stays running.
 */
export async function recordHandOff(env: Env, job: JobRow, dispatched: number, logs: LogLine[], started: Promise<void>): Promise<void> {
  await started.catch(() => {});
  const lines = logs.map((l) => ({ ...l, jobId: job.id, attempt: job.attempt }));
  await Promise.all([
    ...chunkByJsonSize(lines).map((chunk) =>
      env.DB.prepare(
        `INSERT INTO job_logs (job_id, attempt, level, message, details, step_name, created_at)
         SELECT value ->> '$.jobId', value ->> '$.attempt', value ->> '$.level', value ->> '$.message', value ->> '$.details', value ->> '$.stepName', value ->> '$.createdAt'
         FROM json_each(?)`,
      )
        .bind(chunk)
        .run(),
    ),
    releaseSlots(env, [{ queue: job.queue, item: { jobId: job.id, attempt: dispatched } }]).catch((err) =>
      console.error("scheduler release failed; its heal will recover the slot", err),
    ),
  ]).catch((err) => console.error(`could not record the hand-off of job ${job.id}`, err));
}

export type HandedOffVerdict = { state: "completed"; result: string } | { state: "failed"; error: string; retry: boolean } | { state: "cancelled" };

/**
 * Ends a handed-off attempt as its service (or a cancel) says: recorded like any attempt's end,
 * announced, and a retry handed back to the queue's scheduler. False when it had already ended.
 */
export async function finishHandedOff(env: Env, job: JobRow, verdict: HandedOffVerdict): Promise<boolean> {
  const now = Date.now();
  let outcome: AttemptOutcome;
  if (verdict.state === "completed") outcome = { kind: "completed", result: verdict.result };
  else if (verdict.state === "cancelled") outcome = { kind: "cancelled", error: CANCELLED_WHILE_WAITING };
  else if (verdict.retry && job.retryCount < job.maxRetries) {
    outcome = { kind: "retry", error: verdict.error, runAt: now + retryDelayMs(job.retryCount, readSettings(env)), result: null };
  } else outcome = { kind: "failed", error: verdict.error, result: null };
  const event = outcomeEvent(job, outcome, now);
  const recorded = await finishAttempts(env, [{ job: { id: job.id, attempt: job.attempt, executedAt: job.executedAt ?? now }, outcome, logs: [], at: now, progress: null, event }], eventOutbox);
  if (!recorded.has(job.id)) return false;
  await deliverEvents(env, [event]);
  if (outcome.kind === "retry") {
    await armJobsBestEffort(env, [{ queue: job.queue, item: { jobId: job.id, attempt: job.attempt, runAt: outcome.runAt, priority: job.priority } }]);
  }
  return true;
}

/**
 * Cancel of a running job whose attempt waits for its service's callback: nothing in this Worker
 * is running it, so it ends here, and the service is sent a signed cancel notice. Returns the
 * cancelled job, or null when the attempt is not waiting for a callback (the consumer handles it).
 */
export async function cancelHandedOff(env: Env, job: JobRow): Promise<JobRow | null> {
  if (!(await settleCallback(env, job.id, job.attempt, { state: "cancelled" }, Date.now(), "accepted"))) return null;
  await finishHandedOff(env, job, { state: "cancelled" });
  await sendCancelNotice(env, job, job.attempt);
  return (await getJob(env, job.id)) ?? null;
}

function outcomeEvent(job: JobRow, outcome: AttemptOutcome, at: number): DomainEvent {
  const previousStatus = "running" as const;
  switch (outcome.kind) {
    case "completed":
      return makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus, completedAt: at, result: JSON.parse(outcome.result) }), at);
    case "retry":
      return makeEvent("job.retrying", jobEventData(job, { status: "pending", previousStatus, completedAt: at, error: outcome.error, nextRetryAt: outcome.runAt }), at);
    case "failed":
      return makeEvent("job.failed", jobEventData(job, { status: "failed", previousStatus, completedAt: at, error: outcome.error }), at);
    case "cancelled":
      return makeEvent("job.cancelled", jobEventData(job, { status: "cancelled", previousStatus, completedAt: at, error: outcome.error }), at);
  }
}
