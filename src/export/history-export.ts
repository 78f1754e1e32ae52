import { iso } from "../lib/time";
import { runQueries } from "../metrics/batch";
import { DAY_MS, finished, HOUR_MS, roundedAverageMs, seriesQuery, successRate, type Counts, type HourRange, type RollupFilter } from "../metrics/rollups";
import type { Column } from "./stream";

export type HistoryRow = { start: number; step: number; queue: string; type: string; counts: Counts };

export const HISTORY_COLUMNS: Column<HistoryRow>[] = [
  { name: "bucketStart", value: (r) => iso(r.start) },
  { name: "bucketEnd", value: (r) => iso(r.start + r.step - 1) },
  { name: "queue", value: (r) => r.queue },
  { name: "type", value: (r) => r.type },
  { name: "totalJobs", value: (r) => finished(r.counts) },
  { name: "completed", value: (r) => r.counts.completed },
  { name: "failed", value: (r) => r.counts.failed },
  { name: "cancelled", value: (r) => r.counts.cancelled },
  { name: "retriedAttempts", value: (r) => r.counts.retried },
  { name: "successRate", value: (r) => successRate(r.counts) },
  { name: "averageExecutionTimeMs", value: (r) => roundedAverageMs(r.counts) },
];

/**
 * Rollups per hourly or daily UTC bucket, queue and type, oldest first; buckets without jobs are
 * left out. Each page is one range query over a day (hourly) or a week (daily), so memory holds
 * the rows of one slice whatever the period.
 */
export async function* historyPages(env: Env, range: HourRange, bucket: "hourly" | "daily", filter: RollupFilter): AsyncGenerator<HistoryRow[]> {
  const step = bucket === "daily" ? DAY_MS : HOUR_MS;
  const slice = (bucket === "daily" ? 7 : 24) * step;
  for (let start = Math.floor(range.from / step) * step; start < range.to; start += slice) {
    const hours = { from: Math.max(range.from, start), to: Math.min(range.to, start + slice) };
    const [rows] = await runQueries(env.DB, seriesQuery(env.DB, hours, filter, step, { queue: true, type: true }, start));
    if (rows.length) yield rows.map((r) => ({ start: start + r.slot * step, step, queue: r.queue!, type: r.type!, counts: r.counts }));
  }
}
