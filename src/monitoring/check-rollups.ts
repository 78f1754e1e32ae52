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

/** Minutes stay in memory this long after they close, so a late result can still be added and the row rewritten whole. */
export const KEEP_MINUTES_MS = 15 * MINUTE_MS;

/**
 * The checks of one shard on their way to D1: raw checks per minute (a closed minute is written
 * whole, and again if a late result joins it), and per-hour stats (rewritten whole on every flush
 * while they change). Raw checks older than `rawFloor` are no longer held: their minute rows in
 * D1 may have checks this object does not know about, so they are counted in the hour only.
 */
export class CheckRollups {
  readonly minutes = new Map<number, MinuteRollup>();
  readonly dirtyMinutes = new Set<number>();
  readonly hours = new Map<number, HourRollup>();
  readonly dirtyHours = new Set<number>();
  rawFloor = 0;

  addRaw(endpointId: string, check: PackedCheck): void {
    if (check[0] < this.rawFloor) return;
    const minute = minuteOf(check[0]);
    const row = this.minutes.get(minute) ?? {};
    (row[endpointId] ??= { c: [] }).c.push(check);
    row[endpointId].c.sort((a, b) => a[0] - b[0]);
    this.minutes.set(minute, row);
    this.dirtyMinutes.add(minute);
  }

  addStats(endpointId: string, result: Pick<CheckResult, "startedAt" | "ok" | "responseTimeMs">): void {
    const hour = hourOf(result.startedAt);
    const row = this.hours.get(hour) ?? {};
    row[endpointId] = addToHour(row[endpointId], result);
    this.hours.set(hour, row);
    this.dirtyHours.add(hour);
  }

  /** Changed minutes that have ended by `now`, oldest first. */
  closedDirtyMinutes(now: number): [number, MinuteRollup][] {
    return [...this.dirtyMinutes]
      .filter((m) => m + MINUTE_MS <= now)
      .sort((a, b) => a - b)
      .map((m) => [m, this.minutes.get(m) ?? {}]);
  }

  /** After a flush as of `now`: drops minutes past KEEP_MINUTES_MS (moving rawFloor) and hours before the previous one. */
  forget(now: number): void {
    this.rawFloor = Math.max(this.rawFloor, minuteOf(now - KEEP_MINUTES_MS));
    for (const m of [...this.minutes.keys()]) if (m < this.rawFloor && !this.dirtyMinutes.has(m)) this.minutes.delete(m);
    for (const h of [...this.hours.keys()]) if (h < hourOf(now) - HOUR_MS && !this.dirtyHours.has(h)) this.hours.delete(h);
  }

  removeEndpoint(id: string): void {
    for (const row of this.minutes.values()) delete row[id];
    for (const row of this.hours.values()) delete row[id];
  }
}
