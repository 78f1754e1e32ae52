import { HOUR_MS } from "../metrics/rollups";
import type { CheckResult } from "./check-messages";
import { RESPONSE_TIME_BUCKETS_MS, type HourRollup, type HourStats, type MinuteRollup, type PackedCheck } from "./rollup-data";

export const MINUTE_MS = 60_000;
export const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
export const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

export const packCheck = (r: Pick<CheckResult, "startedAt" | "ok" | "responseTimeMs" | "error">): PackedCheck => [r.startedAt, r.ok ? 1 : 0, r.ok ? r.responseTimeMs : null, r.ok ? null : r.error];

const emptyStats = (): HourStats => ({ n: 0, ok: 0, rtN: 0, rtSum: 0, rtMin: null, rtMax: null, h: new Array(RESPONSE_TIME_BUCKETS_MS.length + 1).fill(0) });

export function addToHour(stats: HourStats | undefined, check: Pick<CheckResult, "ok" | "responseTimeMs">): HourStats {
  const s = stats ? { ...stats, h: [...stats.h] } : emptyStats();
  s.n++;
  if (!check.ok) return s;
  s.ok++;
  const rt = check.responseTimeMs;
  if (rt == null) return s;
  s.rtN++;
  s.rtSum += rt;
  s.rtMin = s.rtMin == null ? rt : Math.min(s.rtMin, rt);
  s.rtMax = s.rtMax == null ? rt : Math.max(s.rtMax, rt);
  const i = RESPONSE_TIME_BUCKETS_MS.findIndex((b) => rt <= b);
  s.h[i === -1 ? RESPONSE_TIME_BUCKETS_MS.length : i]++;
  return s;
}

/**
 * The checks of one shard on their way to D1: raw checks per minute until their minute is sealed
 * (written once, whole), and per-hour stats (rewritten whole on every flush while the hour is open).
 */
export class CheckRollups {
  readonly minutes = new Map<number, MinuteRollup>();
  readonly hours = new Map<number, HourRollup>();
  readonly dirtyHours = new Set<number>();

  addRaw(endpointId: string, check: PackedCheck): void {
    const minute = minuteOf(check[0]);
    const row = this.minutes.get(minute) ?? {};
    (row[endpointId] ??= { c: [] }).c.push(check);
    this.minutes.set(minute, row);
  }

  addStats(endpointId: string, result: Pick<CheckResult, "startedAt" | "ok" | "responseTimeMs">): void {
    const hour = hourOf(result.startedAt);
    const row = this.hours.get(hour) ?? {};
    row[endpointId] = addToHour(row[endpointId], result);
    this.hours.set(hour, row);
    this.dirtyHours.add(hour);
  }

  /** Minutes that ended before `before`, oldest first: their raw checks are complete. */
  sealedMinutes(before: number): [number, MinuteRollup][] {
    return [...this.minutes].filter(([m]) => m + MINUTE_MS <= before).sort(([a], [b]) => a - b);
  }

  /** After a flush: sealed minutes are in D1, and hours before `keepFrom` will not change again. */
  forget(sealedBefore: number, keepFrom: number): void {
    for (const m of [...this.minutes.keys()]) if (m + MINUTE_MS <= sealedBefore) this.minutes.delete(m);
    for (const h of [...this.hours.keys()]) if (h < keepFrom && !this.dirtyHours.has(h)) this.hours.delete(h);
  }

  removeEndpoint(id: string): void {
    for (const row of this.minutes.values()) delete row[id];
    for (const row of this.hours.values()) delete row[id];
  }
}
