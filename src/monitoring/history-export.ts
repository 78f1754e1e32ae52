import type { Column } from "../export/stream";
import { iso } from "../lib/time";
import { addCheck, availability, emptyStats, mergeStats, responseTime, type CheckStats } from "./check-stats";
import type { EndpointSummary } from "./endpoint-directory";
import { DAY_MS, HOUR_MS, hourRows, minuteRows } from "./rollup-reader";

export const HISTORY_BUCKETS = ["raw", "hourly", "daily"] as const;
export type HistoryBucket = (typeof HISTORY_BUCKETS)[number];

/** One export row: a single check (raw) or the checks of one endpoint in one hour or UTC day. */
export type EndpointHistoryRow = { endpointId: string; endpoint: EndpointSummary | undefined; start: number; end: number; stats: CheckStats; error: string | null };

const rt = (agg: "avg" | "min" | "max" | "p95") => (r: EndpointHistoryRow) => responseTime(r.stats, agg);

export const ENDPOINT_HISTORY_COLUMNS: Column<EndpointHistoryRow>[] = [
  { name: "endpointId", value: (r) => r.endpointId },
  { name: "endpointName", value: (r) => r.endpoint?.name ?? null },
  { name: "group", value: (r) => r.endpoint?.group ?? null },
  { name: "time", value: (r) => iso(r.start) },
  { name: "bucketEnd", value: (r) => iso(r.end) },
  { name: "checks", value: (r) => r.stats.n },
  { name: "successes", value: (r) => r.stats.ok },
  { name: "failures", value: (r) => r.stats.n - r.stats.ok },
  { name: "availability", value: (r) => availability(r.stats) },
  { name: "avgResponseTimeMs", value: rt("avg") },
  { name: "minResponseTimeMs", value: rt("min") },
  { name: "maxResponseTimeMs", value: rt("max") },
  { name: "p95ResponseTimeMs", value: rt("p95") },
  { name: "error", value: (r) => r.error },
];

type Request = { from: number; to: number; bucket: HistoryBucket; endpointId?: string; endpoints: Map<string, EndpointSummary> };

const byTimeThenId = (a: EndpointHistoryRow, b: EndpointHistoryRow) => a.start - b.start || (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0);

/**
 * Endpoint history in [from, to], oldest first: each check from the minute rollups (raw), the hour
 * rollups as they are (hourly), or the hour rollups summed per UTC day (daily). Pages follow the
 * rollup reader's slices, so memory holds one slice whatever the period.
 */
export async function* endpointHistoryPages(env: Env, req: Request): AsyncGenerator<EndpointHistoryRow[]> {
  const row = (endpointId: string, start: number, end: number, stats: CheckStats, error: string | null = null): EndpointHistoryRow => ({
    endpointId,
    endpoint: req.endpoints.get(endpointId),
    start,
    end,
    stats,
    error,
  });
  if (req.bucket === "raw") {
    for await (const page of minuteRows(env, req.from, req.to + 1, req.endpointId)) {
      const out: EndpointHistoryRow[] = [];
      for (const { data } of page) {
        for (const [id, { c }] of Object.entries(data)) {
          for (const check of c) if (check[0] >= req.from && check[0] <= req.to) out.push(row(id, check[0], check[0], addCheck(emptyStats(), check), check[3]));
        }
      }
      if (out.length) yield out.sort(byTimeThenId);
    }
    return;
  }
  const step = req.bucket === "daily" ? DAY_MS : HOUR_MS;
  // A day is summed from its hour rows, so a page must hold whole days.
  for (let sliceFrom = Math.floor(req.from / step) * step; sliceFrom <= req.to; sliceFrom += DAY_MS) {
    const sums = new Map<string, EndpointHistoryRow>();
    for await (const page of hourRows(env, Math.max(req.from, sliceFrom), Math.min(req.to + 1, sliceFrom + DAY_MS), req.endpointId)) {
      for (const { bucketStart, data } of page) {
        const start = Math.floor(bucketStart / step) * step;
        for (const [id, stats] of Object.entries(data)) {
          const key = `${start}\u0000${id}`;
          const current = sums.get(key) ?? sums.set(key, row(id, start, start + step - 1, emptyStats())).get(key)!;
          mergeStats(current.stats, stats);
        }
      }
    }
    if (sums.size) yield [...sums.values()].sort(byTimeThenId);
  }
}
