import { iso } from "../lib/time";
import { runQueries } from "./batch";
import { addCounts, DAY_MS, emptyCounts, finished, HOUR_MS, hourRange, rateAndAverage, round2, seriesQuery, type Counts, type RollupFilter } from "./rollups";

export type Granularity = "day" | "hour";
export type PerformanceQuery = RollupFilter & { from: number; to: number; granularity: Granularity };

/** Summary fields shared by the whole period and each trend slot. */
function describe(c: Counts) {
  return { successfulJobs: c.completed, failedJobs: c.failed, cancelledJobs: c.cancelled, retriedAttempts: c.retried, ...rateAndAverage(c) };
}

/**
 * The seed's performance metrics for a period, from the hourly rollups: the period is widened to
 * whole UTC hours; trends are per UTC day (or hour) and include empty slots.
 */
export async function performanceReport(env: Env, q: PerformanceQuery) {
  const range = hourRange(q.from, q.to);
  const [hours] = await runQueries(env.DB, seriesQuery(env.DB, range, q, HOUR_MS));
  const total = emptyCounts();
  let peakJobsPerHour = 0;
  const step = q.granularity === "day" ? DAY_MS : HOUR_MS;
  const first = Math.floor(range.from / step) * step;
  const slots = Array.from({ length: Math.ceil((range.to - first) / step) }, emptyCounts);
  for (const { slot, counts } of hours) {
    const hour = range.from + slot * HOUR_MS;
    addCounts(total, counts);
    addCounts(slots[Math.floor((hour - first) / step)], counts);
    peakJobsPerHour = Math.max(peakJobsPerHour, finished(counts));
  }
  const days = (range.to - range.from) / DAY_MS;
  return {
    period: { from: iso(range.from), to: iso(range.to - 1) },
    granularity: q.granularity,
    filters: { queue: q.queue ?? null, type: q.type ?? null },
    summary: {
      totalJobs: finished(total),
      ...describe(total),
      throughput: { jobsPerDay: round2(finished(total) / days), peakJobsPerHour },
    },
    trends: slots.map((c, i) => {
      const start = first + i * step;
      return { date: q.granularity === "day" ? iso(start)!.slice(0, 10) : iso(start), jobsExecuted: finished(c), ...describe(c) };
    }),
  };
}

export type PerformanceReport = Awaited<ReturnType<typeof performanceReport>>;
