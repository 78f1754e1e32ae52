import type { JobRow } from "../db/schema";
import { conflict, notFound } from "../http/errors";
import { isTerminalStatus, priorityRank, type JobStatus, type Priority } from "../model/job";
import { cancelLiveJob, requeueLiveJob, schedulerFor } from "../scheduler/client";
import { liveQueuesFor, queueTagOf } from "../scheduler/job-ids";
import type { CancelOutput, RequeueOutput } from "../scheduler/live-protocol";
import { cancelHandedOff } from "../http-types/hand-off";
import { archivedJob, getJob, locateJob } from "./job-reads";

/**
 * Actions on one job. A live job is changed by its queue's scheduler, which records the change and
 * raises its event; a finished job is archived in D1, and a re-run makes it live again.
 */

/** A pending job is cancelled at once; a running one is asked to stop (`immediate` false). */
export async function cancelJob(env: Env, id: string): Promise<{ job: JobRow; immediate: boolean }> {
  let answer = await cancelWhereLive(env, id);
  if (answer?.result === "not_live" && answer.job && leftByOldEngine(answer.job)) {
    await takeOver(env, answer.job.queue);
    answer = await cancelWhereLive(env, id);
  }
  if (answer?.result === "cancelled" && answer.job) return { job: answer.job, immediate: true };
  if (answer?.result === "requested" && answer.job) {
    // An attempt waiting for its HTTP service's callback has no consumer to notice the request.
    const ended = await cancelHandedOff(env, answer.job);
    return ended ? { job: ended, immediate: true } : { job: answer.job, immediate: false };
  }
  throw await explainNotChangeable(env, id, "cancelled", answer?.job);
}

/** A failed or cancelled job goes back to pending. */
export async function retryJob(env: Env, id: string, resetRetryCount: boolean): Promise<JobRow> {
  return requeue(env, id, ["failed", "cancelled"], { resetRetryCount, delayMs: 0 }, "retried");
}

/** Runs an existing job again (or, if it is still waiting, moves its start) now or after a delay. */
export async function executeJob(env: Env, id: string, options: { priority?: Priority; delayMs?: number }): Promise<JobRow> {
  return requeue(env, id, ["pending", "completed", "failed", "cancelled"], { resetRetryCount: true, delayMs: options.delayMs ?? 0, priority: options.priority }, "executed");
}

/**
 * Asks the scheduler holding the job. The queue comes from the job's id (its tag) or, for an id
 * without one, from its archived row; an untagged id never archived is asked of every queue.
 */
async function cancelWhereLive(env: Env, id: string): Promise<CancelOutput | undefined> {
  const archived = queueTagOf(id) === null ? await archivedJob(env, id) : undefined;
  const queues = archived ? [archived.queue] : await liveQueuesFor(env, id);
  const answers = await Promise.all(queues.map((queue) => cancelLiveJob(env, queue, id)));
  return answers.find((a) => a.result !== "not_live") ?? (archived && { result: "not_live", job: archived });
}

async function requeue(
  env: Env,
  id: string,
  from: JobStatus[],
  options: { resetRetryCount: boolean; delayMs: number; priority?: Priority },
  verb: string,
): Promise<JobRow> {
  const now = Date.now();
  const change = {
    id,
    from,
    runAt: now + options.delayMs,
    priority: options.priority ? priorityRank(options.priority) : undefined,
    resetRetryCount: options.resetRetryCount,
  };
  // Twice at most: a job archived (and let go by its scheduler) between the read and the call is
  // found in D1 the second time, and a row the previous engine left is live the second time.
  let answer: RequeueOutput | null = null;
  let seen: JobRow | undefined;
  for (let round = 0; round < 2; round++) {
    const { live, archived } = await locateJob(env, id);
    if (live) {
      seen = live.job;
      answer = await requeueLiveJob(env, { ...change, queue: live.job.queue });
    } else {
      if (!archived) throw notFound("Job");
      seen = archived;
      if (leftByOldEngine(archived)) {
        await takeOver(env, archived.queue);
        continue;
      }
      answer = await requeueLiveJob(env, { ...change, queue: archived.queue, archived });
    }
    if (!("error" in answer) || answer.error !== "not_found") break;
  }
  if (answer && "job" in answer) return answer.job;
  if (answer && answer.error === "conflict") throw conflict(`The job is ${answer.status} and cannot be ${verb}.`);
  throw await explainNotChangeable(env, id, verb, seen);
}

/** A pending or running row in D1 was left by the previous engine: its scheduler takes it over once. */
function leftByOldEngine(row: JobRow): boolean {
  return !isTerminalStatus(row.status);
}

/** Has the queue's scheduler import what the previous engine left live in D1 now, rather than at its next alarm. */
async function takeOver(env: Env, queue: string): Promise<void> {
  await schedulerFor(env, queue).heal(queue);
}

async function explainNotChangeable(env: Env, id: string, verb: string, known?: JobRow) {
  const job = known ?? (await getJob(env, id));
  return job ? conflict(`The job is ${job.status} and cannot be ${verb}.`) : notFound("Job");
}
