import { archivedQueueStats, type ArchivedQueueStats, type QueueStats } from "../db/queues";
import { liveStats } from "../scheduler/client";
import type { StatsOutput } from "../scheduler/live-protocol";

/** A queue's live counts: pending and running, and finished jobs its scheduler has not flushed to D1 yet. */
type LiveCounts = { stats: StatsOutput; completed: number; failed: number };

/**
 * Stats of every queue (or of the one named), sorted by name: pending and running jobs and the
 * settings from each queue's scheduler, finished counts and throughput from D1 plus the finished
 * jobs the scheduler still holds (they reach D1 within a flush interval).
 */
export async function queueStats(env: Env, now: number, only?: string): Promise<QueueStats[]> {
  const archived = await archivedQueueStats(env, now, only);
  const live = await Promise.all(archived.map((q) => liveCounts(env, q.name)));
  return archived.map((q, i) => withLive(q, live[i]));
}

async function liveCounts(env: Env, queue: string): Promise<LiveCounts> {
  const stats = await liveStats(env, queue);
  return { stats, completed: stats.unflushedByStatus.completed, failed: stats.unflushedByStatus.failed };
}

function withLive(q: ArchivedQueueStats, live: LiveCounts): QueueStats {
  return {
    ...q,
    paused: live.stats.paused,
    workers: live.stats.workers,
    rateLimit: live.stats.rateLimit,
    counts: { pending: live.stats.pending, running: live.stats.running, completed: q.counts.completed + live.completed, failed: q.counts.failed + live.failed },
    finishedLastHour: q.finishedLastHour + live.completed + live.failed,
  };
}
