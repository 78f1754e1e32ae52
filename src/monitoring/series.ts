import { addCheck, emptyStats, mergeStats, type CheckStats } from "./check-stats";
import type { RollupBucket } from "./rollup-data";
import { HOUR_MS, hourRows, MINUTE_MS, minuteRows } from "./rollup-reader";

/** Ranges up to this long are read from the minute rollups (raw checks); longer ones from the hour rollups. */
export const MINUTE_RESOLUTION_MAX_MS = 6 * HOUR_MS;
/** Never more slots than this in one series, whatever the interval asked for. */
export const MAX_SLOTS = 10_000;

export type SeriesRequest = { from: number; to: number; stepMs: number; endpointId?: string; maxSlots?: number };
export type StatsSeries = { bucket: RollupBucket; start: number; step: number; slots: CheckStats[] };

/** Which rollup answers a range, and the slot width: the step asked for, widened to whole buckets and to at most maxSlots slots. */
export function resolution(from: number, to: number, stepMs: number, maxSlots = MAX_SLOTS): { bucket: RollupBucket; step: number } {
  const span = Math.max(1, to - from);
  const wanted = Math.max(stepMs, span / Math.min(maxSlots, MAX_SLOTS));
  const bucket: RollupBucket = span <= MINUTE_RESOLUTION_MAX_MS && wanted < HOUR_MS ? "minute" : "hour";
  const size = bucket === "minute" ? MINUTE_MS : HOUR_MS;
  return { bucket, step: Math.max(1, Math.ceil(wanted / size)) * size };
}

/** Checks per time slot over [from, to], of one endpoint or all of them summed. */
export async function statsSeries(env: Env, req: SeriesRequest): Promise<StatsSeries> {
  const { bucket, step } = resolution(req.from, req.to, req.stepMs, req.maxSlots);
  const start = Math.floor(req.from / step) * step;
  const slots = Array.from({ length: Math.max(1, Math.ceil((req.to + 1 - start) / step)) }, emptyStats);
  if (bucket === "minute") {
    for await (const page of minuteRows(env, start, req.to + 1, req.endpointId)) {
      for (const row of page) {
        for (const { c } of Object.values(row.data)) {
          for (const check of c) {
            if (check[0] < req.from || check[0] > req.to) continue;
            addCheck(slots[Math.floor((check[0] - start) / step)], check);
          }
        }
      }
    }
  } else {
    for await (const page of hourRows(env, start, req.to + 1, req.endpointId)) {
      for (const row of page) {
        const slot = slots[Math.floor((row.bucketStart - start) / step)];
        if (slot) for (const stats of Object.values(row.data)) mergeStats(slot, stats);
      }
    }
  }
  return { bucket, start, step, slots };
}
