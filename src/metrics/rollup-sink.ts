import { z } from "zod";
import type { EventSink, Guard, GuardedEvent } from "../events/publisher";
import type { EventType } from "../events/types";
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
 * guarded so they commit exactly when the state change does.
 */
export const rollupSink: EventSink = {
  name: "metrics-rollups",
  statements(env, events) {
    return events.flatMap((e) => statementsFor(env.DB, e));
  },
};

function statementsFor(db: D1Database, { event, guard }: GuardedEvent): D1PreparedStatement[] {
  if (QUEUE_EVENTS.includes(event.type)) {
    const data = QueueEventData.safeParse(event.data);
    if (!data.success) return [];
    return [guarded(db, { head: QUEUE_EVENT_SQL, tail: "" }, [event.id, Date.parse(event.timestamp), data.data.queue, event.type, JSON.stringify(event.data)], guard)];
  }
  const counted = COUNTED[event.type];
  if (!counted) return [];
  const parsed = JobEventData.safeParse(event.data);
  if (!parsed.success) {
    console.error(`metrics: ${event.type} event without job data`, parsed.error.issues);
    return [];
  }
  const data = parsed.data;
  const at = Date.parse(data.completedAt ?? event.timestamp);
  const hour = Math.floor(at / HOUR_MS) * HOUR_MS;
  const duration = counted.timed && data.durationMs != null ? Math.max(0, Math.round(data.durationMs)) : null;
  const bucket = duration == null ? -1 : bucketIndex(duration);
  const counters = [
    ...(["completed", "failed", "cancelled", "retried"] as const).map((c) => (c === counted.column ? 1 : 0)),
    duration == null ? 0 : 1,
    duration ?? 0,
    ...BUCKET_COLUMNS.map((_, i) => (i === bucket ? 1 : 0)),
  ];
  const statements = [
    guarded(db, ROLLUP, [hour, data.queue, data.jobType, ...counters], guard),
    guarded(db, TOTAL, [data.queue, data.jobType, ...counters], guard),
  ];
  if (counted.column === "failed") {
    const reason = normalizeFailureReason(data.error);
    statements.push(guarded(db, REASON, [hour, data.queue, data.jobType, reason, 1], guard), guarded(db, REASON_TOTAL, [data.queue, data.jobType, reason, 1], guard));
  }
  return statements;
}

function guarded(db: D1Database, sql: { head: string; tail: string }, values: unknown[], guard: Guard): D1PreparedStatement {
  return db.prepare(`${sql.head}(${guard.sql})${sql.tail}`).bind(...values, ...guard.params);
}
