import { iso } from "../lib/time";
import { runQueries } from "./batch";
import { addCounts, byQueueAndTypeQuery, emptyCounts, failureReasonsQuery, finished, hourRange, rateAndAverage, round2, type Counts, type RollupFilter } from "./rollups";

/** Failure reasons listed per type, most frequent first. */
export const MAX_FAILURE_REASONS = 10;

/**
 * Per job type: executions, success rate, average final-attempt duration and failures grouped by
 * normalised reason. All time (the never-purged totals) unless a period is given.
 */
export async function jobTypeReport(env: Env, q: RollupFilter & { from?: number; to?: number }) {
  const range = q.from !== undefined || q.to !== undefined ? hourRange(q.from ?? 0, q.to ?? Date.now()) : null;
  const [rows, reasons] = await runQueries(env.DB, byQueueAndTypeQuery(env.DB, range, q), failureReasonsQuery(env.DB, range, q));
  const byType = new Map<string, Counts>();
  for (const r of rows) byType.set(r.type, addCounts(byType.get(r.type) ?? emptyCounts(), r.counts));
  const jobTypes = [...byType].map(([type, c]) => {
    const total = finished(c);
    return {
      type,
      totalExecutions: total,
      successfulExecutions: c.completed,
      failedExecutions: c.failed,
      cancelledExecutions: c.cancelled,
      retriedAttempts: c.retried,
      ...rateAndAverage(c),
      failureReasons: reasons
        .filter((r) => r.type === type)
        .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1))
        .slice(0, MAX_FAILURE_REASONS)
        .map((r) => ({ reason: r.reason, count: r.count, percentage: total ? round2((100 * r.count) / total) : 0 })),
    };
  });
  jobTypes.sort((a, b) => b.totalExecutions - a.totalExecutions || (a.type < b.type ? -1 : 1));
  return { period: range ? { from: iso(range.from), to: iso(range.to - 1) } : null, filters: { queue: q.queue ?? null, type: q.type ?? null }, jobTypes };
}
