import { defaultsStatement, deleteArchivedFailedJobs, mirrorSchedulerStatement, queueExists, type QueueStats } from "../db/queues";
import { deliverEvents, eventStatements } from "../events/publisher";
import { makeEvent, type DomainEvent } from "../model/events";
import { ApiError, notFound } from "../http/errors";
import type { UsageLimits } from "../config";
import type { ClearedQueue, QueueSettingsPatch } from "../model/queue";
import { flushLive, listLiveJobs, removeLiveJobs, schedulerFor } from "../scheduler/client";
import type { SchedulerStatus } from "../scheduler/messages";
import { queueStats } from "./queue-stats";
import { ensureQueueRoom, ensureWorkersRoom } from "./usage-limits";

/** Archived jobs deleted per D1 transaction by a clear, and how many such rounds one request may run (D1 allows 1,000 queries per invocation). */
export const CLEAR_BATCH = 500;
export const MAX_CLEAR_ROUNDS = 100;
/** Pending jobs removed from the scheduler per call (their rows travel in the list call). */
const CLEAR_LIVE_BATCH = 1000;

const ALWAYS: { sql: string; params: unknown[] } = { sql: "1", params: [] };

/**
 * Pause and resume are answered by the queue's scheduler, the authority for its pause state; the
 * queue row mirrors it for cheap listing. Only a call that changed the state emits an event.
 */
export async function setQueuePaused(env: Env, name: string, paused: boolean): Promise<QueueStats> {
  await requireQueue(env, name);
  const scheduler = schedulerFor(env, name);
  const { changed, status } = paused ? await scheduler.pause({ queue: name }) : await scheduler.resume({ queue: name });
  const now = Date.now();
  const event = changed ? makeEvent(paused ? "queue.paused" : "queue.resumed", { queue: name, status: paused ? "paused" : "running" }, now) : null;
  await commitQueueChange(env, name, status, now, event);
  return withStatus(await statsOf(env, name, now), status);
}

/** PATCH /queues/{name}: creates the queue if it is new, so it can be set up before its first job. `limits`: those binding the caller. */
export async function configureQueue(env: Env, name: string, patch: QueueSettingsPatch, limits: UsageLimits | null): Promise<QueueStats> {
  await ensureQueueRoom(env, [name], limits);
  await ensureWorkersRoom(env, name, patch.workers, limits);
  const status = await schedulerFor(env, name).configure({
    queue: name,
    workers: patch.workers,
    rateLimit: patch.rateLimit === undefined ? undefined : patch.rateLimit && { limit: patch.rateLimit.limit, intervalMs: Math.max(1, Math.round(patch.rateLimit.intervalSeconds * 1000)) },
  });
  const now = Date.now();
  const defaults = patch.defaults && {
    maxRetries: patch.defaults.maxRetries,
    timeoutMs: patch.defaults.timeoutSeconds === undefined ? undefined : patch.defaults.timeoutSeconds && patch.defaults.timeoutSeconds * 1000,
  };
  const setDefaults = defaults ? defaultsStatement(env, name, defaults, now) : null;
  await env.DB.batch([mirrorSchedulerStatement(env, name, status, now), ...(setDefaults ? [setDefaults] : [])]);
  return withStatus(await statsOf(env, name, now), status);
}

/**
 * Deletes the queue's pending and/or failed jobs and answers how many went. Pending jobs are live:
 * its scheduler removes them (a job that started running meanwhile is neither removed nor
 * counted). Failed jobs are archived: the scheduler first flushes the ones it still holds, then
 * they are deleted from D1 with their attempts and logs in bounded transactions. `hasMore` when
 * the per-request bound was reached.
 */
export async function clearQueue(env: Env, name: string, what: { clearPending: boolean; clearFailed: boolean }): Promise<ClearedQueue> {
  await requireQueue(env, name);
  const scheduler = schedulerFor(env, name);
  let clearedPending = 0;
  let clearedFailed = 0;
  let rounds = 0;
  let hasMore = false;
  if (what.clearPending) {
    // Pending rows the previous engine left in D1 are the scheduler's once it has taken them over.
    await scheduler.heal(name);
    for (;;) {
      if (rounds++ === MAX_CLEAR_ROUNDS) {
        hasMore = true;
        break;
      }
      const { rows } = await listLiveJobs(env, name, { status: "pending" }, CLEAR_LIVE_BATCH);
      if (!rows.length) break;
      const { removed } = await removeLiveJobs(env, name, rows.map((r) => r.id));
      clearedPending += removed.length;
      if (rows.length < CLEAR_LIVE_BATCH || !removed.length) break;
    }
  }
  if (what.clearFailed && !hasMore) {
    await flushLive(env, name);
    for (;;) {
      if (rounds++ === MAX_CLEAR_ROUNDS) {
        hasMore = true;
        break;
      }
      const { selected, deleted } = await deleteArchivedFailedJobs(env, name, CLEAR_BATCH);
      clearedFailed += deleted.length;
      if (selected < CLEAR_BATCH) break;
    }
  }
  const now = Date.now();
  const result: ClearedQueue = { queue: name, clearedPending, clearedFailed, hasMore };
  const event = makeEvent("queue.cleared", { queue: name, clearedPending, clearedFailed }, now);
  await commitQueueChange(env, name, await scheduler.status(), now, event);
  return result;
}

/** One queue's stats with the live settings of its scheduler; repairs the queue row if it fell behind. */
export async function describeQueue(env: Env, name: string): Promise<QueueStats> {
  const now = Date.now();
  const [stats] = await queueStats(env, now, name);
  if (!stats) throw notFound("Queue");
  const status = await schedulerFor(env, name).status();
  if (status.version > stats.version) await mirrorSchedulerStatement(env, name, status, now).run();
  return withStatus(stats, status);
}

/** The queue row mirrors the scheduler, and the event's outbox rows commit with it. */
async function commitQueueChange(env: Env, name: string, status: SchedulerStatus, now: number, event: DomainEvent | null) {
  await env.DB.batch([mirrorSchedulerStatement(env, name, status, now), ...(event ? eventStatements(env, [{ event, guard: ALWAYS }]) : [])]);
  if (event) await deliverEvents(env, [event]);
}

async function requireQueue(env: Env, name: string) {
  if (!(await queueExists(env, name))) {
    throw new ApiError(400, "unknown_queue", `There is no queue named "${name}": a queue exists once a job names it or once it is set up with PATCH /queues/${name}.`);
  }
}

async function statsOf(env: Env, name: string, now: number): Promise<QueueStats> {
  const [stats] = await queueStats(env, now, name);
  if (!stats) throw notFound("Queue");
  return stats;
}

function withStatus(stats: QueueStats, status: SchedulerStatus): QueueStats {
  return { ...stats, paused: status.paused, workers: status.workers, rateLimit: status.rateLimit, version: status.version };
}
