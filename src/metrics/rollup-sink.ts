import { z } from "zod";
import { byGuardKind, JOB_STATE_EXISTS, jobStateTuple, type EventSink, type Guard, type GuardedEvent, type JobState } from "../events/publisher";
import type { EventType } from "../model/events";
import { normalizeFailureReason } from "./failure-reason";
import { BUCKET_COLUMNS, bucketIndex } from "./histogram";
import { HOUR_MS } from "./rollups";

/** Counter columns of job_rollups / job_totals, in the order the upserts bind them. */
export const COUNTER_COLUMNS = ["completed", "failed", "cancelled", "retried", "timed", "duration_ms", ...BUCKET_COLUMNS] as const;

/**
 * How a lifecycle event counts. A `job.retrying` is a failed attempt that will be retried: it counts
 * in `retried`, never as a failed job. Durations (and the histogram) are those of the final attempt
 * of completed and failed runs; cancelled runs only count.
 */
const COUNTED: Partial<Record<EventType, { column: "completed" | "failed" | "cancelled" | "retried"; timed: boolean }>> = {
  "job.completed": { column: "completed", timed: true },
  "job.failed": { column: "failed", timed: true },
  "job.cancelled": { column: "cancelled", timed: false },
  "job.retrying": { column: "retried", timed: false },
};
const QUEUE_EVENTS: readonly EventType[] = ["queue.paused", "queue.resumed", "queue.cleared"];

const JobEventData = z.object({
  jobType: z.string(),
  queue: z.string(),
  completedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
});
const QueueEventData = z.object({ queue: z.string() });

const upsertSql = (table: string, key: readonly string[], values: readonly string[]) =>
  `INSERT INTO ${table} (${[...key, ...values].join(", ")}) SELECT ${[...key, ...values].map(() => "?").join(", ")} WHERE `;
const onConflict = (key: readonly string[], values: readonly string[]) =>
  ` ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${values.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

const ROLLUP = { head: upsertSql("job_rollups", ["hour", "queue", "type"], COUNTER_COLUMNS), tail: onConflict(["hour", "queue", "type"], COUNTER_COLUMNS) };
const TOTAL = { head: upsertSql("job_totals", ["queue", "type"], COUNTER_COLUMNS), tail: onConflict(["queue", "type"], COUNTER_COLUMNS) };
const REASON = { head: upsertSql("job_failure_reasons", ["hour", "queue", "type", "reason"], ["count"]), tail: onConflict(["hour", "queue", "type", "reason"], ["count"]) };
const REASON_TOTAL = { head: upsertSql("job_failure_reason_totals", ["queue", "type", "reason"], ["count"]), tail: onConflict(["queue", "type", "reason"], ["count"]) };
const QUEUE_EVENT_SQL = `INSERT OR IGNORE INTO queue_events (id, at, queue, type, data) SELECT ?, ?, ?, ?, ? WHERE `;

/**
 * Keeps the metrics aggregates: for each terminal state (and retried attempt) one upsert into the
 * hour's rollup row and one into the all-time totals row, plus two for a failed job's reason, all
 * guarded so they commit exactly when the state change does. Events guarded by a job's state are
 * summed per row in SQL, so a batch of finished jobs writes each rollup row once, not once per job.
 */
export const rollupSink: EventSink = {
  name: "metrics-rollups",
  statements(env, events) {
    const { jobGuarded, other } = byGuardKind(events);
    return [...aggregatedStatements(env.DB, jobGuarded), ...other.flatMap((e) => statementsFor(env.DB, e))];
  },
};

type Counted = { hour: number; queue: string; type: string; counters: number[]; reason: string | null };

function countOf({ event }: GuardedEvent): Counted | null {
  const counted = COUNTED[event.type];
  if (!counted) return null;
  const parsed = JobEventData.safeParse(event.data);
  if (!parsed.success) {
    console.error(`metrics: ${event.type} event without job data`, parsed.error.issues);
    return null;
  }
  const data = parsed.data;
  const at = Date.parse(data.completedAt ?? event.timestamp);
  const duration = counted.timed && data.durationMs != null ? Math.max(0, Math.round(data.durationMs)) : null;
  const bucket = duration == null ? -1 : bucketIndex(duration);
  const counters = [
    ...(["completed", "failed", "cancelled", "retried"] as const).map((c) => (c === counted.column ? 1 : 0)),
    duration == null ? 0 : 1,
    duration ?? 0,
    ...BUCKET_COLUMNS.map((_, i) => (i === bucket ? 1 : 0)),
  ];
  const reason = counted.column === "failed" ? normalizeFailureReason(data.error) : null;
  return { hour: Math.floor(at / HOUR_MS) * HOUR_MS, queue: data.queue, type: data.jobType, counters, reason };
}

function statementsFor(db: D1Database, { event, guard }: GuardedEvent): D1PreparedStatement[] {
  if (QUEUE_EVENTS.includes(event.type)) {
    const data = QueueEventData.safeParse(event.data);
    if (!data.success) return [];
    return [guarded(db, { head: QUEUE_EVENT_SQL, tail: "" }, [event.id, Date.parse(event.timestamp), data.data.queue, event.type, JSON.stringify(event.data)], guard)];
  }
  const c = countOf({ event, guard });
  if (!c) return [];
  const statements = [guarded(db, ROLLUP, [c.hour, c.queue, c.type, ...c.counters], guard), guarded(db, TOTAL, [c.queue, c.type, ...c.counters], guard)];
  if (c.reason != null) {
    statements.push(guarded(db, REASON, [c.hour, c.queue, c.type, c.reason, 1], guard), guarded(db, REASON_TOTAL, [c.queue, c.type, c.reason, 1], guard));
  }
  return statements;
}

function guarded(db: D1Database, sql: { head: string; tail: string }, values: unknown[], guard: Guard): D1PreparedStatement {
  return db.prepare(`${sql.head}(${guard.sql})${sql.tail}`).bind(...values, ...guard.params);
}

/** One upsert per table for all job-guarded events: the committed ones summed per key. */
function aggregatedStatements(db: D1Database, events: (GuardedEvent & { guard: { job: JobState } })[]): D1PreparedStatement[] {
  const rows = events.flatMap((e) => {
    const c = countOf(e);
    return c ? [{ ...c, g: jobStateTuple(e.guard.job) }] : [];
  });
  if (!rows.length) return [];
  const json = JSON.stringify(rows.map((r) => ({ k: [r.hour, r.queue, r.type], c: r.counters, g: r.g })));
  const statements = [
    db.prepare(sumSql("job_rollups", ["hour", "queue", "type"], [0, 1, 2], COUNTER_COLUMNS)).bind(json),
    db.prepare(sumSql("job_totals", ["queue", "type"], [1, 2], COUNTER_COLUMNS)).bind(json),
  ];
  const failed = rows.filter((r) => r.reason != null);
  if (failed.length) {
    const reasons = JSON.stringify(failed.map((r) => ({ k: [r.hour, r.queue, r.type, r.reason], c: [1], g: r.g })));
    statements.push(
      db.prepare(sumSql("job_failure_reasons", ["hour", "queue", "type", "reason"], [0, 1, 2, 3], ["count"])).bind(reasons),
      db.prepare(sumSql("job_failure_reason_totals", ["queue", "type", "reason"], [1, 2, 3], ["count"])).bind(reasons),
    );
  }
  return statements;
}

/** INSERT … SELECT summing `$.c[i]` per key `$.k[keyIndexes]` over the committed rows of one JSON parameter. */
function sumSql(table: string, key: readonly string[], keyIndexes: number[], values: readonly string[]): string {
  const keys = keyIndexes.map((i) => `v.value ->> '$.k[${i}]'`);
  const sums = values.map((_, i) => `SUM(v.value ->> '$.c[${i}]')`);
  return `INSERT INTO ${table} (${[...key, ...values].join(", ")})
    SELECT ${[...keys, ...sums].join(", ")} FROM json_each(?) v WHERE ${JOB_STATE_EXISTS} GROUP BY ${keys.join(", ")}
    ${onConflict(key, values)}`;
}
