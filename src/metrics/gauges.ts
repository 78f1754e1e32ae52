import { z } from "zod";
import type { Query } from "./batch";

const int = z.number().int();
const GaugeRow = z.object({
  queue: z.string(),
  pending: int,
  due: int,
  oldest_run_at: int.nullable(),
  running: int,
  lease_expired: int,
  oldest_lease_until: int.nullable(),
  paused: int,
});

const OutcomesRow = z.object({ completed: int, failed: int });
const CountRow = z.object({ n: int });

/**
 * `q(name)`: the distinct queues of the jobs table, NULL-terminated, by a skip scan of the
 * (queue, status, run_at) index: one index seek per queue instead of a scan of every job.
 */
export const QUEUES_WITH_JOBS = `WITH RECURSIVE q(name) AS (
  SELECT MIN(queue) FROM jobs
  UNION ALL SELECT (SELECT MIN(queue) FROM jobs WHERE queue > q.name) FROM q WHERE q.name IS NOT NULL
)`;

export type QueueGauges = {
  queue: string;
  /** Waiting jobs, including those scheduled for later. */
  pending: number;
  /** Waiting jobs whose run time has come. */
  due: number;
  /** run_at of the oldest due job, or null when none is due. */
  oldestDueRunAt: number | null;
  running: number;
  /** Running jobs whose lease passed: their worker is gone and the reconciler has not taken them back yet. */
  leaseExpired: number;
  oldestLeaseExpiredAt: number | null;
  paused: boolean;
};

/**
 * Per-queue gauges from the jobs indexes: the queues with jobs (QUEUES_WITH_JOBS) and the
 * configured ones, and for each an index range of its waiting or running jobs. Cost grows with
 * queues and waiting jobs, never with finished ones.
 */
export function queueGaugesQuery(db: D1Database, now: number): Query<QueueGauges[]> {
  return {
    statement: db
      .prepare(
        `${QUEUES_WITH_JOBS}, names(name) AS (SELECT name FROM q WHERE name IS NOT NULL UNION SELECT name FROM queues)
         SELECT n.name AS queue,
           (SELECT COUNT(*) FROM jobs WHERE queue = n.name AND status = 'pending') AS pending,
           (SELECT COUNT(*) FROM jobs WHERE queue = n.name AND status = 'pending' AND run_at <= ?1) AS due,
           (SELECT MIN(run_at) FROM jobs WHERE queue = n.name AND status = 'pending' AND run_at <= ?1) AS oldest_run_at,
           (SELECT COUNT(*) FROM jobs WHERE queue = n.name AND status = 'running') AS running,
           (SELECT COUNT(*) FROM jobs WHERE queue = n.name AND status = 'running' AND lease_until < ?1) AS lease_expired,
           (SELECT MIN(lease_until) FROM jobs WHERE queue = n.name AND status = 'running' AND lease_until < ?1) AS oldest_lease_until,
           COALESCE((SELECT paused FROM queues WHERE name = n.name), 0) AS paused
         FROM names n ORDER BY n.name`,
      )
      .bind(now),
    read: (rows) =>
      rows.map((raw) => {
        const r = GaugeRow.parse(raw);
        return {
          queue: r.queue,
          pending: r.pending,
          due: r.due,
          oldestDueRunAt: r.oldest_run_at,
          running: r.running,
          leaseExpired: r.lease_expired,
          oldestLeaseExpiredAt: r.oldest_lease_until,
          paused: r.paused === 1,
        };
      }),
  };
}

/** Jobs that reached completed or failed since `since` (index range on (status, completed_at)). */
export function recentOutcomesQuery(db: D1Database, since: number): Query<{ completed: number; failed: number }> {
  return {
    statement: db
      .prepare(
        `SELECT (SELECT COUNT(*) FROM jobs WHERE status = 'completed' AND completed_at >= ?1) AS completed,
                (SELECT COUNT(*) FROM jobs WHERE status = 'failed' AND completed_at >= ?1) AS failed`,
      )
      .bind(since),
    read: (rows) => OutcomesRow.parse(rows[0]),
  };
}

export function jobCountQuery(db: D1Database): Query<number> {
  return {
    statement: db.prepare(`SELECT COUNT(*) AS n FROM jobs`),
    read: (rows) => CountRow.parse(rows[0]).n,
  };
}
