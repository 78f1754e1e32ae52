import { z } from "zod";
import { formatTimeSpan } from "../lib/time";
import type { Query } from "./batch";
import { BUCKET_COLUMNS } from "./histogram";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Counters summed over some rollup rows (see migrations/0050_metrics.sql for what each counts). */
export type Counts = { completed: number; failed: number; cancelled: number; retried: number; timed: number; durationMs: number };

export type RollupFilter = { queue?: string; type?: string };
/** Whole hours: `from` inclusive, `to` exclusive, both multiples of HOUR_MS. */
export type HourRange = { from: number; to: number };

const int = z.number().int();
const SUMS = `SUM(completed) AS completed, SUM(failed) AS failed, SUM(cancelled) AS cancelled, SUM(retried) AS retried, SUM(timed) AS timed, SUM(duration_ms) AS duration_ms`;
const CountsRow = z.object({ completed: int, failed: int, cancelled: int, retried: int, timed: int, duration_ms: int });
const SeriesRowSchema = CountsRow.extend({ slot: int, queue: z.string().nullable(), type: z.string().nullable() });
const QueueTypeRow = CountsRow.extend({ queue: z.string(), type: z.string() });
const ReasonRow = z.object({ type: z.string(), reason: z.string(), count: int });
const TotalsRow = QueueTypeRow.extend(Object.fromEntries(BUCKET_COLUMNS.map((b) => [b, int])));

export const toCounts = (r: z.infer<typeof CountsRow>): Counts => ({
  completed: r.completed,
  failed: r.failed,
  cancelled: r.cancelled,
  retried: r.retried,
  timed: r.timed,
  durationMs: r.duration_ms,
});

export const emptyCounts = (): Counts => ({ completed: 0, failed: 0, cancelled: 0, retried: 0, timed: 0, durationMs: 0 });

export function addCounts(into: Counts, c: Counts): Counts {
  into.completed += c.completed;
  into.failed += c.failed;
  into.cancelled += c.cancelled;
  into.retried += c.retried;
  into.timed += c.timed;
  into.durationMs += c.durationMs;
  return into;
}

/** Jobs that reached a terminal state (a re-run that finishes again counts again). */
export const finished = (c: Counts) => c.completed + c.failed + c.cancelled;
/** Percentage of completed among completed and failed (cancelled jobs are neither), null when there are none. */
export const successRate = (c: Counts) => (c.completed + c.failed ? round2((100 * c.completed) / (c.completed + c.failed)) : null);
/** Mean duration of the final attempt of completed and failed jobs, null when there are none. */
export const averageMs = (c: Counts) => (c.timed ? c.durationMs / c.timed : null);
export const round2 = (n: number) => Math.round(n * 100) / 100;
export const roundedAverageMs = (c: Counts) => {
  const avg = averageMs(c);
  return avg == null ? null : round2(avg);
};

/** The rate and average fields shared by the performance, job-type and report answers. */
export function rateAndAverage(c: Counts) {
  return { successRate: successRate(c), averageExecutionTime: formatTimeSpan(averageMs(c)), averageExecutionTimeMs: roundedAverageMs(c) };
}

function where(range: HourRange | null, f: RollupFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (range) {
    clauses.push("hour >= ?", "hour < ?");
    params.push(range.from, range.to);
  }
  if (f.queue !== undefined) {
    clauses.push("queue = ?");
    params.push(f.queue);
  }
  if (f.type !== undefined) {
    clauses.push("type = ?");
    params.push(f.type);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

export type Split = { queue?: boolean; type?: boolean };
export type SeriesRow = { slot: number; queue: string | null; type: string | null; counts: Counts };

/**
 * Counters per time slot of `stepMs` counted from `origin` (slot 0; default `range.from`),
 * optionally split by queue and/or type. A range scan of the rollups' primary key (hour, queue,
 * type): O(hours × queues × types) rows.
 */
export function seriesQuery(db: D1Database, range: HourRange, f: RollupFilter, stepMs: number, split: Split = {}, origin = range.from): Query<SeriesRow[]> {
  const w = where(range, f);
  const groups = [split.queue ? "queue" : null, split.type ? "type" : null].filter((g) => g !== null);
  return {
    statement: db
      .prepare(
        `SELECT CAST((hour - ?) / ? AS INTEGER) AS slot, ${split.queue ? "queue" : "NULL AS queue"}, ${split.type ? "type" : "NULL AS type"}, ${SUMS}
         FROM job_rollups ${w.sql} GROUP BY ${["slot", ...groups].join(", ")} ORDER BY ${["slot", ...groups].join(", ")}`,
      )
      .bind(origin, stepMs, ...w.params),
    read: (rows) =>
      rows.map((raw) => {
        const r = SeriesRowSchema.parse(raw);
        return { slot: r.slot, queue: r.queue, type: r.type, counts: toCounts(r) };
      }),
  };
}

/** Counters per queue and type: all time from job_totals when `range` is null, else from the hourly rollups. */
export function byQueueAndTypeQuery(db: D1Database, range: HourRange | null, f: RollupFilter): Query<{ queue: string; type: string; counts: Counts }[]> {
  const w = where(range, f);
  return {
    statement: db.prepare(`SELECT queue, type, ${SUMS} FROM ${range ? "job_rollups" : "job_totals"} ${w.sql} GROUP BY queue, type ORDER BY queue, type`).bind(...w.params),
    read: (rows) =>
      rows.map((raw) => {
        const r = QueueTypeRow.parse(raw);
        return { queue: r.queue, type: r.type, counts: toCounts(r) };
      }),
  };
}

/** Failed jobs per type and normalised reason (all time, or within the hours of `range`). */
export function failureReasonsQuery(db: D1Database, range: HourRange | null, f: RollupFilter): Query<{ type: string; reason: string; count: number }[]> {
  const w = where(range, f);
  return {
    statement: db
      .prepare(`SELECT type, reason, SUM(count) AS count FROM ${range ? "job_failure_reasons" : "job_failure_reason_totals"} ${w.sql} GROUP BY type, reason`)
      .bind(...w.params),
    read: (rows) => rows.map((raw) => ReasonRow.parse(raw)),
  };
}

export type HistogramRow = { queue: string; type: string; counts: Counts; buckets: number[] };

/** All-time counters and duration histogram per queue and type, for Prometheus (never purged). */
export function totalsWithHistogramQuery(db: D1Database): Query<HistogramRow[]> {
  return {
    statement: db.prepare(`SELECT * FROM job_totals ORDER BY queue, type`),
    read: (rows) =>
      rows.map((raw) => {
        const r = TotalsRow.parse(raw) as z.infer<typeof QueueTypeRow> & Record<string, number>;
        return { queue: r.queue, type: r.type, counts: toCounts(r), buckets: BUCKET_COLUMNS.map((b) => r[b]) };
      }),
  };
}

/** Hours covering [from, to]: from rounded down, the end rounded up to whole hours. */
export function hourRange(from: number, to: number): HourRange {
  return { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.floor(to / HOUR_MS) * HOUR_MS + HOUR_MS };
}
