import { CronExpressionParser, type CronExpression } from "cron-parser";
import { firstOffsetChange, offsetAt } from "./timezone";

/** The macros we accept, as the 5-field expressions they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/**
 * How a schedule meets a daylight-saving change (the rules of Vixie cron):
 * - `wallClock` (the hour field names hours, e.g. `30 2 * * *`): a local time that does not
 *   exist (clocks jump forward) fires once at the first instant after the gap; a local time
 *   that happens twice (clocks go back) fires at its first occurrence only.
 * - `interval` (the hour field is `*` or `*\/n`, e.g. `@hourly`, `*\/5 * * * *`): the job keeps
 *   its pace in real time. Slots in a gap do not exist; slots in a repeated hour fire both times.
 */
export type ScheduleKind = "wallClock" | "interval";

export class CronError extends Error {}

const MAX_SEGMENTS = 1000;
const FIELD_NAMES = "minute hour day-of-month month day-of-week";
const ALIASES = /jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat/gi;

/** Parses a cron expression (5 fields, 6 with seconds first, or a macro); throws CronError saying what is wrong. */
export function parseCron(expression: string): { cron: CronExpression; kind: ScheduleKind } {
  const text = expression.trim();
  if (!text) throw new CronError("must not be empty");
  let fields: string[];
  if (text.startsWith("@")) {
    const macro = CRON_MACROS[text.toLowerCase()];
    if (!macro) throw new CronError(`unknown macro "${text}"; use one of ${Object.keys(CRON_MACROS).join(", ")}`);
    fields = macro.split(" ");
  } else {
    fields = text.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      throw new CronError(`has ${fields.length} field${fields.length === 1 ? "" : "s"}; use 5 (${FIELD_NAMES}), 6 (a seconds field first) or a macro such as @daily`);
    }
    // H picks a random value per parse, which would move the schedule on every recomputation.
    if (/h/i.test(text.replace(ALIASES, ""))) throw new CronError("hashed values (H) are not supported");
  }
  let cron: CronExpression;
  try {
    cron = CronExpressionParser.parse(fields.join(" "), { tz: "UTC", currentDate: new Date(0) });
  } catch (err) {
    throw new CronError(err instanceof Error ? err.message : String(err));
  }
  const hour = fields[fields.length - 4];
  return { cron, kind: /^[*?](\/\d+)?$/.test(hour) ? "interval" : "wallClock" };
}

/**
 * The shortest time between two consecutive fire times of an expression, in ms (wall time, as in
 * UTC). The times of day are the same on every day that matches, so consecutive fires are either
 * within a day (adjacent seconds, minutes or hours of the fields) or from the last fire of one
 * day to the first of the next. It takes any matching day to be followed by another (true unless
 * the day fields are restricted), so it may understate the interval but never overstates it.
 */
export function shortestIntervalMs(expression: string): number {
  const { cron } = parseCron(expression);
  const seconds = sortedValues(cron.fields.second.values);
  const minutes = sortedValues(cron.fields.minute.values);
  const hours = sortedValues(cron.fields.hour.values);
  const first = { s: seconds[0], m: minutes[0], h: hours[0] };
  const last = { s: seconds.at(-1)!, m: minutes.at(-1)!, h: hours.at(-1)! };
  const secondOfHour = (t: { s: number; m: number }) => t.m * 60 + t.s;
  const secondOfDay = (t: { s: number; m: number; h: number }) => t.h * 3600 + secondOfHour(t);
  return (
    Math.min(
      smallestStep(seconds),
      smallestStep(minutes) * 60 - (last.s - first.s),
      smallestStep(hours) * 3600 - (secondOfHour(last) - secondOfHour(first)),
      86_400 - (secondOfDay(last) - secondOfDay(first)),
    ) * 1000
  );
}

function sortedValues(values: readonly (number | string)[]): number[] {
  return values.filter((v): v is number => typeof v === "number").sort((a, b) => a - b);
}

function smallestStep(sorted: number[]): number {
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  return step;
}

/**
 * The fire times of a cron expression in an IANA time zone. Local times are matched by the
 * expression as if they were UTC (no daylight saving), then placed on the real time line with
 * the zone's offsets, applying the ScheduleKind rules where the offset changes.
 */
export class Schedule {
  readonly kind: ScheduleKind;
  readonly #cron: CronExpression;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    const parsed = parseCron(expression);
    this.#cron = parsed.cron;
    this.kind = parsed.kind;
  }

  /** The first fire time strictly after `after` (epoch ms), or null if there is none. */
  next(after: number): number | null {
    const tz = this.timeZone;
    // Walk the time line one stretch of constant offset at a time, from `after` (exclusive)
    // or from the offset change that began the stretch (inclusive).
    let bound = after;
    let inclusive = false;
    // Local times below this already fired before the clocks went back (wallClock only).
    let minWall = -Infinity;
    for (let i = 0; i < MAX_SEGMENTS; i++) {
      const offset = offsetAt(tz, bound);
      const wall = this.#wallAtOrAfter(Math.max(bound + offset + (inclusive ? 0 : 1), minWall));
      if (wall == null) return null;
      const candidate = wall - offset;
      const change = firstOffsetChange(tz, bound, candidate, offset);
      if (change == null) return candidate;
      const newOffset = offsetAt(tz, change);
      if (this.kind === "wallClock") {
        if (newOffset > offset) {
          const skipped = this.#wallAtOrAfter(Math.max(change + offset, minWall));
          if (skipped != null && skipped < change + newOffset) return change;
        } else {
          minWall = Math.max(minWall, change + offset);
        }
      }
      bound = change;
      inclusive = true;
    }
    return null;
  }

  /** The next `count` fire times after `after`. */
  upcoming(after: number, count: number): number[] {
    const out: number[] = [];
    for (let t = this.next(after); t != null && out.length < count; t = this.next(t)) out.push(t);
    return out;
  }

  /** The latest `limit` fire times in [from, to], oldest first. */
  latestBetween(from: number, to: number, limit: number): number[] {
    if (limit <= 0 || from > to) return [];
    // Look back over a growing window so a dense schedule is not walked from a distant `from`.
    for (let span = 60_000; ; span *= 4) {
      const start = Math.max(from, to - span);
      const out: number[] = [];
      for (let t = this.next(start - 1); t != null && t <= to; t = this.next(t)) {
        out.push(t);
        if (out.length > limit) out.shift();
      }
      if (out.length >= limit || start === from) return out;
    }
  }

  /** The smallest local (wall) time ≥ `wall` the expression matches, as a UTC-based epoch. */
  #wallAtOrAfter(wall: number): number | null {
    try {
      this.#cron.reset(new Date(wall - 1));
      return this.#cron.next().getTime();
    } catch {
      return null;
    }
  }
}
