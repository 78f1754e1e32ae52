import type { Schedule } from "./schedule";

export const MISSED_RUN_POLICIES = ["skip", "runOnce", "runAll"] as const;
export type MissedRunPolicy = (typeof MISSED_RUN_POLICIES)[number];

/** A slot handled at most this late still counts as on time; older slots were missed. */
export const MISSED_AFTER_MS = 60_000;
/** `runAll` creates at most this many runs for one catch-up (the latest missed slots). */
export const RUN_ALL_CAP = 100;

export type FirePlan = {
  /** Slots to create a run for now, oldest first. */
  slots: number[];
  /** Whether slots older than MISSED_AFTER_MS were due (after an outage or a long-delayed alarm). */
  missed: boolean;
  /** The next slot after `now`: where the schedule resumes, on time. */
  next: number | null;
};

/**
 * Which slots to run when the schedule is handled at `now`, given `cursor`, the oldest slot not
 * yet handled. Slots due within MISSED_AFTER_MS always run; older ones follow the policy:
 * `skip` drops them, `runOnce` runs the latest of them once (unless an on-time run is made
 * anyway), `runAll` runs them all, up to RUN_ALL_CAP runs in total (the latest ones).
 */
export function planFires(schedule: Schedule, cursor: number, now: number, policy: MissedRunPolicy): FirePlan {
  if (cursor > now) return { slots: [], missed: false, next: cursor };
  const lateBefore = now - MISSED_AFTER_MS;
  const onTime = schedule.latestBetween(Math.max(cursor, lateBefore), now, RUN_ALL_CAP);
  const missed = cursor < lateBefore;
  let catchUp: number[] = [];
  if (missed && policy === "runAll") catchUp = schedule.latestBetween(cursor, lateBefore - 1, RUN_ALL_CAP - onTime.length);
  if (missed && policy === "runOnce" && onTime.length === 0) catchUp = schedule.latestBetween(cursor, lateBefore - 1, 1);
  return { slots: [...catchUp, ...onTime], missed, next: schedule.next(now) };
}

/** What a fire does while an earlier run of the same recurring job is still pending or running. */
export const OVERLAP_POLICIES = ["skip", "allow", "cancelPrevious"] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
