import { RESPONSE_TIME_BUCKETS_MS, type HourStats, type PackedCheck } from "./rollup-data";

/**
 * Availability and response time of any set of checks, in the shape of an hour rollup: raw checks
 * are added one by one, rollups merged, so every surface (Grafana, export) computes them one way.
 */
export type CheckStats = HourStats;

export const RESPONSE_TIME_AGGREGATIONS = ["avg", "min", "max", "p95"] as const;
export type ResponseTimeAggregation = (typeof RESPONSE_TIME_AGGREGATIONS)[number];

export const emptyStats = (): CheckStats => ({ n: 0, ok: 0, rtN: 0, rtSum: 0, rtMin: null, rtMax: null, h: new Array(RESPONSE_TIME_BUCKETS_MS.length + 1).fill(0) });

export function responseTimeBucket(ms: number): number {
  const i = RESPONSE_TIME_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i < 0 ? RESPONSE_TIME_BUCKETS_MS.length : i;
}

export function addCheck(s: CheckStats, [, ok, rt]: PackedCheck): CheckStats {
  s.n += 1;
  s.ok += ok;
  if (ok === 1 && rt != null) {
    s.rtN += 1;
    s.rtSum += rt;
    s.rtMin = s.rtMin == null ? rt : Math.min(s.rtMin, rt);
    s.rtMax = s.rtMax == null ? rt : Math.max(s.rtMax, rt);
    s.h[responseTimeBucket(rt)] += 1;
  }
  return s;
}

export function mergeStats(into: CheckStats, from: CheckStats): CheckStats {
  into.n += from.n;
  into.ok += from.ok;
  into.rtN += from.rtN;
  into.rtSum += from.rtSum;
  if (from.rtMin != null) into.rtMin = into.rtMin == null ? from.rtMin : Math.min(into.rtMin, from.rtMin);
  if (from.rtMax != null) into.rtMax = into.rtMax == null ? from.rtMax : Math.max(into.rtMax, from.rtMax);
  from.h.forEach((count, i) => (into.h[i] += count));
  return into;
}

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

/** Successful checks among all, in percent; null without checks. */
export const availability = (s: CheckStats): number | null => (s.n ? round((100 * s.ok) / s.n, 3) : null);

/**
 * A percentile of the successful checks' response times, read from the histogram: linear within
 * the bucket that holds it, and never outside the observed min and max (so it is exact for one check).
 */
export function percentile(s: CheckStats, q: number): number | null {
  if (!s.rtN || s.rtMin == null || s.rtMax == null) return null;
  const rank = Math.max(1, Math.ceil(q * s.rtN));
  let below = 0;
  for (let i = 0; i < s.h.length; i++) {
    const count = s.h[i];
    if (below + count >= rank) {
      const lo = i === 0 ? 0 : RESPONSE_TIME_BUCKETS_MS[i - 1];
      const hi = i < RESPONSE_TIME_BUCKETS_MS.length ? RESPONSE_TIME_BUCKETS_MS[i] : s.rtMax;
      const estimate = lo + ((hi - lo) * (rank - below)) / count;
      return round(Math.min(s.rtMax, Math.max(s.rtMin, estimate)), 3);
    }
    below += count;
  }
  return round(s.rtMax, 3);
}

/** Response time (ms) of the successful checks by aggregation; null when none succeeded. */
export function responseTime(s: CheckStats, aggregation: ResponseTimeAggregation): number | null {
  if (!s.rtN) return null;
  switch (aggregation) {
    case "avg":
      return round(s.rtSum / s.rtN, 3);
    case "min":
      return s.rtMin;
    case "max":
      return s.rtMax;
    case "p95":
      return percentile(s, 0.95);
  }
}
