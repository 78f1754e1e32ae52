import type { Settings } from "../config";
import type { AttemptRow, JobRow } from "../db/schema";
import {
  CANCELLED_BEFORE_START,
  CANCELLED_WHILE_RUNNING,
  LEASE_EXPIRED,
  LEASE_EXPIRED_BEFORE_START,
  LEASE_GRACE_MS,
} from "../model/attempt";
import { jobEventData, makeEvent, type DomainEvent } from "../model/events";
import { MAX_TIMEOUT_SECONDS, type JobStatus } from "../model/job";
import { retryDelayMs } from "../model/retry-policy";
import type { EndedAttempt, LiveAttemptOutcome } from "./live-protocol";
import type { LiveJob } from "./live-jobs";
import type { Change } from "./live-store";

/**
 * The rules of a job's state changes, as pure functions from the job as held to the change to
 * journal and the event it raises. They are today's D1 statements (claimJobs, finishAttempts,
 * expireLease, cancel, requeue) moved into the object unchanged.
 */
export type Transition = { change: Change; event: DomainEvent | null; status: JobStatus };

/** Claimable: pending, attempt as the message says, due, no cancel request (the token is the caller's check). */
export function canClaim(job: LiveJob, attempt: number, now: number): boolean {
  const r = job.row;
  return r.status === "pending" && r.attempt === attempt && r.runAt <= now && !r.cancelRequested;
}

export function claim(job: LiveJob, now: number): Transition {
  const current = job.row;
  const attempt = current.attempt + 1;
  const leaseUntil = now + Math.min(current.timeoutMs ?? 60_000, MAX_TIMEOUT_SECONDS * 1000) + LEASE_GRACE_MS;
  const att: AttemptRow = { jobId: current.id, attempt, status: "running", startedAt: now, completedAt: null, durationMs: null, error: null, retryAt: null };
  return {
    change: { id: current.id, set: { status: "running", attempt, executedAt: now, leaseUntil, progress: null, progressMessage: null, updatedAt: now }, att },
    event: makeEvent("job.started", jobEventData({ ...current, attempt, executedAt: now }, { status: "running", previousStatus: "pending" }), now),
    status: "running",
  };
}

/** The end of a running attempt (finishAttempts' rules); null when the job is no longer running that attempt. */
export function finish(job: LiveJob, ended: EndedAttempt): Transition | null {
  const current = job.row;
  if (current.status !== "running" || current.attempt !== ended.attempt) return null;
  const { outcome, at, progress } = ended;
  // A retry of a job whose cancel was requested ends it cancelled: a cancel request is never
  // carried back to pending, where no claim would take the job.
  const kind = outcome.kind === "retry" && current.cancelRequested ? "cancelled" : outcome.kind;
  const status: JobStatus = kind === "retry" ? "pending" : kind;
  const outResult = "result" in outcome ? outcome.result : null;
  const set: Partial<JobRow> = {
    status,
    error: kind === "cancelled" && outcome.kind === "retry" ? CANCELLED_WHILE_RUNNING : outcome.kind === "completed" ? null : outcome.error,
    result: kind === "cancelled" ? current.result : kind === "failed" ? (outResult ?? current.result) : outResult,
    completedAt: kind === "retry" ? current.completedAt : at,
    runAt: outcome.kind === "retry" && kind === "retry" ? outcome.runAt : current.runAt,
    retryCount: current.retryCount + (kind === "retry" ? 1 : 0),
    cancelRequested: 0,
    progress: kind === "completed" ? (progress?.percent ?? current.progress) : (progress?.percent ?? null),
    progressMessage: kind === "completed" ? (progress?.message ?? current.progressMessage) : (progress?.message ?? null),
    leaseUntil: null,
    updatedAt: at,
  };
  const executedAt = current.executedAt ?? at;
  const att: AttemptRow = {
    jobId: current.id,
    attempt: current.attempt,
    status: outcome.kind === "retry" ? (kind === "cancelled" ? "cancelled" : "failed") : outcome.kind,
    startedAt: job.attempts.find((a) => a.attempt === current.attempt)?.startedAt ?? executedAt,
    completedAt: at,
    durationMs: at - executedAt,
    error: outcome.kind === "completed" ? null : outcome.error,
    retryAt: status === "pending" && outcome.kind === "retry" ? outcome.runAt : null,
  };
  const announced: LiveAttemptOutcome = kind === "cancelled" && outcome.kind === "retry" ? { kind: "cancelled", error: CANCELLED_WHILE_RUNNING } : outcome;
  return {
    change: { id: current.id, set, att, logs: ended.logs.map((l) => ({ ...l, attempt: current.attempt })) },
    event: outcomeEvent(current, announced, at),
    status,
  };
}

/** The event of an attempt's end, built from the job as claimed (as the consumer built it). */
export function outcomeEvent(job: JobRow, outcome: LiveAttemptOutcome, at: number): DomainEvent {
  const result = "result" in outcome && outcome.result != null ? (JSON.parse(outcome.result) as unknown) : null;
  switch (outcome.kind) {
    case "completed":
      return makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: at, result }), at);
    case "retry":
      return makeEvent(
        "job.retrying",
        jobEventData(job, { status: "pending", previousStatus: "running", completedAt: at, error: outcome.error, result, nextRetryAt: outcome.runAt }),
        at,
      );
    case "failed":
      return makeEvent("job.failed", jobEventData(job, { status: "failed", previousStatus: "running", completedAt: at, error: outcome.error, result }), at);
    case "cancelled":
      return makeEvent("job.cancelled", jobEventData(job, { status: "cancelled", previousStatus: "running", completedAt: at, error: outcome.error }), at);
  }
}

/**
 * A running job whose lease passed lost its consumer (expireLease's rules). A cancel request ends
 * it cancelled; an attempt whose handler never started goes back to pending at once without using
 * up a retry; otherwise the attempt failed: retried while retries are left, else the job fails.
 */
export function expire(job: LiveJob, now: number, settings: Pick<Settings, "retryBaseDelayMs" | "retryMaxDelayMs">): Transition {
  const current = job.row;
  const cancel = current.cancelRequested === 1;
  const started = job.handlerStarted;
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
  const startedAt = job.attempts.find((a) => a.attempt === current.attempt)?.startedAt ?? current.executedAt ?? now;
  const att: AttemptRow = {
    jobId: current.id,
    attempt: current.attempt,
    status: next === "cancelled" ? "cancelled" : "failed",
    startedAt,
    completedAt: now,
    durationMs: now - startedAt,
    error: started || cancel ? message : LEASE_EXPIRED_BEFORE_START,
    retryAt: next === "pending" ? runAt : null,
  };
  const set: Partial<JobRow> = {
    status: next,
    retryCount,
    runAt: next === "pending" ? runAt : current.runAt,
    completedAt: next === "pending" ? current.completedAt : now,
    cancelRequested: 0,
    leaseUntil: null,
    error: message,
    updatedAt: now,
  };
  return { change: { id: current.id, set, att }, event, status: next };
}

/** pending → cancelled at once. */
export function cancelPending(job: LiveJob, now: number): Transition {
  const set: Partial<JobRow> = { status: "cancelled", completedAt: now, updatedAt: now, error: CANCELLED_BEFORE_START };
  return {
    change: { id: job.row.id, set },
    event: makeEvent("job.cancelled", jobEventData(job.row, { status: "cancelled", previousStatus: "pending", completedAt: now, error: CANCELLED_BEFORE_START }), now),
    status: "cancelled",
  };
}

/** running → cancel requested; the consumer learns it from its heartbeat and aborts the handler. */
export function requestCancel(job: LiveJob, now: number): Transition {
  return { change: { id: job.row.id, set: { cancelRequested: 1, updatedAt: now } }, event: null, status: job.row.status };
}

/** Back to pending (a re-run, a retry by hand, a moved start), as requeueJob set it. */
export function requeueSet(row: JobRow, change: { runAt: number; priority?: number; resetRetryCount: boolean; now: number }): JobRow {
  return {
    ...row,
    status: "pending",
    runAt: change.runAt,
    ...(change.priority != null ? { priority: change.priority } : {}),
    ...(change.resetRetryCount ? { retryCount: 0 } : {}),
    cancelRequested: 0,
    completedAt: null,
    leaseUntil: null,
    updatedAt: change.now,
  };
}

export const requeuedEvent = (row: JobRow, now: number) => makeEvent("job.requeued", jobEventData(row, { status: "pending", previousStatus: null }), now);
export const createdEvent = (row: JobRow, now: number) => makeEvent("job.created", jobEventData(row, { status: "pending", previousStatus: null }), now);
