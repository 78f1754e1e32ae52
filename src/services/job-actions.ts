import { CANCELLED_BEFORE_START, cancelPendingJob, getJob, requeueJob, requestCancelRunningJob } from "../db/jobs";
import { deliverEvents, eventOutbox } from "../events/publisher";
import { jobEventData, makeEvent } from "../model/events";
import type { JobRow } from "../db/schema";
import { conflict, notFound } from "../http/errors";
import { priorityRank, type JobStatus, type Priority } from "../model/job";
import { armJobs, schedulerFor } from "../scheduler/client";
import { cancelHandedOff } from "../http-types/hand-off";

export async function cancelJob(env: Env, id: string): Promise<{ job: JobRow; immediate: boolean }> {
  const now = Date.now();
  const current = await getJob(env, id);
  if (!current) throw notFound("Job");
  const event = makeEvent(
    "job.cancelled",
    jobEventData(current, { status: "cancelled", previousStatus: "pending", completedAt: now, error: CANCELLED_BEFORE_START }),
    now,
  );
  const cancelled = current.status === "pending" ? await cancelPendingJob(env, id, now, event, eventOutbox) : undefined;
  if (cancelled) {
    await Promise.all([
      deliverEvents(env, [event]),
      schedulerFor(env, cancelled.queue)
        .remove({ queue: cancelled.queue, jobIds: [id] })
        .catch((err) => console.warn("scheduler remove failed; the stale entry is skipped at claim", err)),
    ]);
    return { job: cancelled, immediate: true };
  }
  const requested = await requestCancelRunningJob(env, id, now);
  // An attempt waiting for its HTTP service's callback has no consumer to notice the request.
  const ended = requested && (await cancelHandedOff(env, requested));
  if (ended) return { job: ended, immediate: true };
  if (requested) return { job: requested, immediate: false };
  throw await explainNotChangeable(env, id, "cancelled");
}

/** A failed or cancelled job goes back to pending. */
export async function retryJob(env: Env, id: string, resetRetryCount: boolean): Promise<JobRow> {
  return requeue(env, id, ["failed", "cancelled"], { resetRetryCount, delayMs: 0 }, "retried");
}

/** Runs an existing job again (or, if it is still waiting, moves its start) now or after a delay. */
export async function executeJob(env: Env, id: string, options: { priority?: Priority; delayMs?: number }): Promise<JobRow> {
  return requeue(env, id, ["pending", "completed", "failed", "cancelled"], { resetRetryCount: true, delayMs: options.delayMs ?? 0, priority: options.priority }, "executed");
}

async function requeue(
  env: Env,
  id: string,
  from: JobStatus[],
  options: { resetRetryCount: boolean; delayMs: number; priority?: Priority },
  verb: string,
): Promise<JobRow> {
  const now = Date.now();
  const job = await requeueJob(env, id, from, {
    runAt: now + options.delayMs,
    priority: options.priority ? priorityRank(options.priority) : undefined,
    resetRetryCount: options.resetRetryCount,
    now,
  });
  if (!job) throw await explainNotChangeable(env, id, verb);
  await deliverEvents(env, [makeEvent("job.requeued", jobEventData(job, { status: "pending", previousStatus: null }), now)]);
  await armJobs(env, [{ queue: job.queue, item: { jobId: job.id, attempt: job.attempt, runAt: job.runAt, priority: job.priority } }]);
  return job;
}

async function explainNotChangeable(env: Env, id: string, verb: string) {
  const job = await getJob(env, id);
  return job ? conflict(`The job is ${job.status} and cannot be ${verb}.`) : notFound("Job");
}
