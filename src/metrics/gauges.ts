import { z } from "zod";
import { LEFT_LIVE_TERM } from "../db/archive";
import { windowShare } from "../db/queues";
import { liveStats } from "../scheduler/client";
import type { StatsOutput } from "../scheduler/live-protocol";
import type { Query } from "./batch";
import { HOUR_MS } from "./rollups";

const int = z.number().int();
const CountRow = z.object({ n: int });
const NameRow = z.object({ name: z.string() });

export type QueueGauges = {
  queue: string;
  /** Waiting jobs, including those scheduled for later. */
  pending: number;
  /** Waiting jobs whose run time has come. */
  due: number;
  /** run_at of the oldest due job, or null when none is due. */
  oldestDueRunAt: number | null;
  running: number;
  /** Running jobs whose lease passed: their worker is gone and their scheduler has not taken them back yet. */
  leaseExpired: number;
  oldestLeaseExpiredAt: number | null;
  paused: boolean;
};

/** A queue's gauges and how many jobs its scheduler holds (live ones and finished ones not flushed yet). */
export type LiveQueue = { gauges: QueueGauges; held: number };

/**
 * Per-queue gauges from each queue's scheduler, which holds the queue's live jobs: one call per
 * queue, whatever the number of jobs. The queues are those with a `queues` row (every queue that
 * got a job has one).
 */
export async function liveQueues(env: Env): Promise<LiveQueue[]> {
  const { results } = await env.DB.prepare(`SELECT name FROM queues ORDER BY name`).all();
  const names = results.map((r) => NameRow.parse(r).name);
  const stats = await Promise.all(names.map((name) => liveStats(env, name)));
  return names.map((queue, i) => ({ gauges: toGauges(queue, stats[i]), held: stats[i].pending + stats[i].running + stats[i].unflushed }));
}

export async function queueGauges(env: Env): Promise<QueueGauges[]> {
  return (await liveQueues(env)).map((q) => q.gauges);
}

function toGauges(queue: string, s: StatsOutput): QueueGauges {
  return {
    queue,
    pending: s.pending,
    due: s.dueNow,
    oldestDueRunAt: s.oldestDueRunAt,
    running: s.running,
    leaseExpired: s.leaseExpired,
    oldestLeaseExpiredAt: s.oldestLeaseExpiredAt,
    paused: s.paused,
  };
}

const OutcomesByHourRow = z.object({ hour: int, completed: int, failed: int });

/**
 * Jobs that reached completed or failed in the last `windowMs`, from the hourly rollups (a range
 * of their primary key, whatever the number of jobs), spreading each hour's jobs evenly over it.
 */
export function recentOutcomesQuery(db: D1Database, now: number, windowMs: number): Query<{ completed: number; failed: number }> {
  return {
    statement: db
      .prepare(`SELECT hour, SUM(completed) AS completed, SUM(failed) AS failed FROM job_rollups WHERE hour >= ?1 GROUP BY hour`)
      .bind(Math.floor((now - windowMs) / HOUR_MS) * HOUR_MS),
    read: (rows) => {
      const out = { completed: 0, failed: 0 };
      for (const raw of rows) {
        const r = OutcomesByHourRow.parse(raw);
        const share = windowShare(r.hour, now, windowMs);
        out.completed += r.completed * share;
        out.failed += r.failed * share;
      }
      return { completed: Math.round(out.completed), failed: Math.round(out.failed) };
    },
  };
}

/** Jobs in the archive: the finished-job counters plus rows the previous engine left pending or running (not yet taken over by their scheduler). */
export function archivedJobCountQuery(db: D1Database): Query<number> {
  return {
    statement: db.prepare(
      `SELECT (SELECT COALESCE(SUM(n), 0) FROM job_counts) + (SELECT COUNT(*) FROM jobs WHERE ${LEFT_LIVE_TERM}) AS n`,
    ),
    read: (rows) => CountRow.parse(rows[0]).n,
  };
}
