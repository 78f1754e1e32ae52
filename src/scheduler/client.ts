import type { JobFilter } from "../db/jobs";
import type { JobRow } from "../db/schema";
import type { JobStatus } from "../model/job";
import { groupBy } from "../lib/collections";
import { liveQueuesFor } from "./job-ids";
import type {
  CancelOutput,
  ClaimMessagesOutput,
  CreateOutput,
  EndedAttempt,
  ExtendLeaseOutput,
  FinishOutput,
  FlushOutput,
  GetOutput,
  LiveJobDetail,
  ListOutput,
  NewLiveJob,
  RemoveLiveOutput,
  ReplaceParametersOutput,
  RequeueInput,
  RequeueOutput,
  SealedOutput,
  StatsOutput,
} from "./live-protocol";

/** The scheduler that owns `queue`'s live jobs. */
export function schedulerFor(env: Env, queue: string) {
  return env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(queue));
}

/** Items of many queues, one list per queue, without the queue field (each call names its queue). */
function byQueue<T extends { queue: string }>(items: T[]): Map<string, Omit<T, "queue">[]> {
  return new Map([...groupBy(items, (i) => i.queue)].map(([queue, list]) => [queue, list.map(({ queue: _, ...item }) => item)]));
}

/**
 * Creates jobs in their queues' schedulers (one call per queue). Each job is durable once its
 * scheduler's call returned; a failure of one queue's call rejects the whole promise.
 */
export async function createLiveJobs(env: Env, jobs: NewLiveJob[]): Promise<CreateOutput> {
  const results = await Promise.all(
    [...groupBy(jobs, (j) => j.queue)].map(([queue, items]) => schedulerFor(env, queue).create({ queue, jobs: items })),
  );
  return { created: results.flatMap((r) => r.created), skipped: results.flatMap((r) => r.skipped) };
}

/** Claims the attempts of several exec messages of one queue in one call; `claimed[i]` is what messages[i] claimed. */
export async function claimLiveMessages(env: Env, queue: string, messages: { token: string; jobs: [string, number][] }[]): Promise<ClaimMessagesOutput> {
  return schedulerFor(env, queue).claimMessages({ queue, messages });
}

/** Tells the schedulers these claimed attempts' handlers started (an expired lease then counts as a retry). */
export async function markLiveStarted(env: Env, attempts: { queue: string; id: string; attempt: number }[]): Promise<void> {
  await Promise.all(
    [...byQueue(attempts)].map(([queue, items]) =>
      schedulerFor(env, queue).started({ queue, attempts: items }),
    ),
  );
}

/** Records the ends of attempts, one call per queue; returns the status each recorded job now has. */
export async function finishLiveAttempts(env: Env, ended: (EndedAttempt & { queue: string })[]): Promise<Map<string, JobStatus>> {
  const results = await Promise.all(
    [...byQueue(ended)].map(([queue, items]) => schedulerFor(env, queue).finish({ queue, ended: items })),
  );
  return new Map(results.flatMap((r) => Object.entries(r.statuses)));
}

/**
 * Records the ends of one queue's attempts and, with `take`, claims up to that many of its due jobs
 * for the caller in the same call (see QueueScheduler.finish).
 */
export async function finishAndTake(env: Env, queue: string, ended: EndedAttempt[], take?: number): Promise<FinishOutput> {
  return schedulerFor(env, queue).finish({ queue, ended, ...(take ? { take } : {}) });
}

/** Claims up to `take` of a queue's due jobs for the caller, waiting at most `waitMs` for one. */
export async function takeNextLive(env: Env, queue: string, take: number, waitMs: number): Promise<JobRow[]> {
  return (await schedulerFor(env, queue).next({ queue, take, waitMs })).next;
}

/** Reports the attempts running here (with progress); returns the ids whose cancel was requested. */
export async function heartbeatLive(
  env: Env,
  running: { queue: string; id: string; attempt: number; progress?: { percent: number; message: string | null } }[],
): Promise<Set<string>> {
  const results = await Promise.all(
    [...byQueue(running)].map(([queue, items]) => schedulerFor(env, queue).heartbeat({ queue, running: items })),
  );
  return new Set(results.flatMap((r) => r.cancel));
}

/** Moves a running attempt's lease (an HTTP hand-off waiting for its callback). */
export async function extendLiveLease(env: Env, input: { queue: string; id: string; attempt: number; leaseUntil: number }): Promise<ExtendLeaseOutput> {
  return schedulerFor(env, input.queue).extendLease(input);
}

export async function cancelLiveJob(env: Env, queue: string, id: string): Promise<CancelOutput> {
  return schedulerFor(env, queue).cancel({ queue, id });
}

export async function requeueLiveJob(env: Env, input: RequeueInput): Promise<RequeueOutput> {
  return schedulerFor(env, input.queue).requeue(input);
}

/** Deletes live jobs that are not running; returns the ids removed. */
export async function removeLiveJobs(env: Env, queue: string, ids: string[]): Promise<RemoveLiveOutput> {
  return schedulerFor(env, queue).remove({ queue, ids });
}

/** Live jobs of one queue, with attempts and logs (asked in chunks of the RPC's limit). */
export async function getLiveJobs(env: Env, queue: string, ids: string[]): Promise<GetOutput> {
  if (ids.length <= GET_LIMIT) return schedulerFor(env, queue).get({ queue, ids });
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += GET_LIMIT) chunks.push(ids.slice(i, i + GET_LIMIT));
  const results = await Promise.all(chunks.map((chunk) => schedulerFor(env, queue).get({ queue, ids: chunk })));
  return { jobs: results.flatMap((r) => r.jobs) };
}

/** Most ids one `get` call takes (GetInput). */
const GET_LIMIT = 1000;

/**
 * Live jobs by id alone: each id is asked of the queues it may belong to (its tag, or every known
 * queue for an untagged id). Ids not live anywhere are absent from the result.
 */
export async function findLiveJobs(env: Env, ids: string[]): Promise<Map<string, LiveJobDetail>> {
  const routed: { queue: string; id: string }[] = [];
  for (const id of new Set(ids)) for (const queue of await liveQueuesFor(env, id)) routed.push({ queue, id });
  const wanted = new Map([...groupBy(routed, (r) => r.queue)].map(([queue, list]) => [queue, list.map((r) => r.id)]));
  const results = await Promise.all([...wanted].map(([queue, list]) => getLiveJobs(env, queue, list)));
  return new Map(results.flatMap((r) => r.jobs.map((d) => [d.job.id, d] as const)));
}

export async function listLiveJobs(env: Env, queue: string, filter: JobFilter, limit: number): Promise<ListOutput> {
  return schedulerFor(env, queue).list({ queue, filter, limit });
}

export async function liveStats(env: Env, queue: string): Promise<StatsOutput> {
  return schedulerFor(env, queue).stats({ queue });
}

/** Flushes a queue's finished jobs to D1 now and waits for it. */
export async function flushLive(env: Env, queue: string): Promise<FlushOutput> {
  return schedulerFor(env, queue).flush({ queue });
}


/** Live jobs of a queue whose parameters hold sealed credentials. */
export async function sealedLiveJobs(env: Env, queue: string): Promise<SealedOutput> {
  return schedulerFor(env, queue).sealed({ queue });
}

export async function replaceLiveParameters(env: Env, queue: string, updates: { id: string; from: string; to: string }[]): Promise<ReplaceParametersOutput> {
  return schedulerFor(env, queue).replaceParameters({ queue, updates });
}
