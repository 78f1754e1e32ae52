import { z } from "zod";
import { byGuard, JOB_STATE_EXISTS, jobStateTuple, type EventSink, type Guard, type GuardedEvent } from "../events/publisher";
import { jsonRows } from "../db/json-rows";
import type { DomainEvent, EventType } from "../model/events";
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

const onConflict = (key: readonly string[], values: readonly string[]) =>
  ` ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${values.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

const QUEUE_EVENT_SQL = `INSERT OR IGNORE INTO queue_events (id, at, queue, type, data)
  SELECT v.value ->> '$.id', v.value ->> '$.at', v.value ->> '$.queue', v.value ->> '$.type', v.value ->> '$.data' FROM json_each(?) v WHERE `;

/**
 * Keeps the metrics aggregates: for each terminal state (and retried attempt) one upsert into the
 * hour's rollup row and one into the all-time totals row, plus two for a failed job's reason, all
 * guarded so they commit exactly when the state change does. Counts are summed per row in SQL, so a
 * batch of finished jobs writes each rollup row once, not once per job: events guarded by their
 * job's state in one set of statements that check each job, events sharing a guard (an archive
 * flush) in one set under that guard.
 */
export const rollupSink: EventSink = {
  name: "metrics-rollups",
  statements(env, events) {
    const { jobGuarded, groups } = byGuard(events);
    const statements = aggregatedStatements(
      env.DB,
      jobGuarded.map((e) => ({ event: e.event, g: jobStateTuple(e.guard.job) })),
      { sql: JOB_STATE_EXISTS, params: [] },
    );
    for (const { guard, events: group } of groups) {
      statements.push(...aggregatedStatements(env.DB, group.map(({ event }) => ({ event })), guard), ...queueEventStatements(env.DB, group, guard));
    }
    return statements;
  },
};

type Counted = { hour: number; queue: string; type: string; counters: number[]; reason: string | null };

function countOf(event: DomainEvent): Counted | null {
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

/** Queue annotations (pause, resume, clear) under one guard, in one statement. */
function queueEventStatements(db: D1Database, events: GuardedEvent[], guard: Guard): D1PreparedStatement[] {
  const rows = events.flatMap(({ event }) => {
    if (!QUEUE_EVENTS.includes(event.type)) return [];
    const data = QueueEventData.safeParse(event.data);
    return data.success ? [{ id: event.id, at: Date.parse(event.timestamp), queue: data.data.queue, type: event.type, data: JSON.stringify(event.data) }] : [];
  });
  return rows.length ? [db.prepare(`${QUEUE_EVENT_SQL}(${guard.sql})`).bind(JSON.stringify(rows), ...guard.params)] : [];
}

/**
 * One upsert per table for all these events, the committed ones summed per key. `where` is true
 * for a committed `json_each` row `v` (whose `$.g`, when present, is the event's job state).
 */
function aggregatedStatements(db: D1Database, events: { event: DomainEvent; g?: unknown[] }[], where: Guard): D1PreparedStatement[] {
  const rows = events.flatMap(({ event, g }) => {
    const c = countOf(event);
    return c ? [{ ...c, g }] : [];
  });
  if (!rows.length) return [];
  const json = JSON.stringify(summed(rows.map((r) => ({ k: [r.hour, r.queue, r.type], c: r.counters, g: r.g }))));
  const upsert = (table: string, key: readonly string[], keyIndexes: number[], values: readonly string[], param: string) =>
    db.prepare(sumSql(table, key, keyIndexes, values, where.sql)).bind(param, ...where.params);
  const statements = [
    upsert("job_rollups", ["hour", "queue", "type"], [0, 1, 2], COUNTER_COLUMNS, json),
    upsert("job_totals", ["queue", "type"], [1, 2], COUNTER_COLUMNS, json),
  ];
  const failed = rows.filter((r) => r.reason != null);
  if (failed.length) {
    const reasons = JSON.stringify(summed(failed.map((r) => ({ k: [r.hour, r.queue, r.type, r.reason], c: [1], g: r.g }))));
    statements.push(
      upsert("job_failure_reasons", ["hour", "queue", "type", "reason"], [0, 1, 2, 3], ["count"], reasons),
      upsert("job_failure_reason_totals", ["queue", "type", "reason"], [1, 2, 3], ["count"], reasons),
    );
  }
  return statements;
}

type SumRow = { k: unknown[]; c: number[]; g?: unknown[] };

/**
 * Rows without a job guard share the statement's guard and commit together or not at all, so they
 * are summed per key here: SQL then reads one row per key instead of one per event.
 */
function summed(rows: SumRow[]): SumRow[] {
  if (rows.some((r) => r.g !== undefined)) return rows;
  const byKey = new Map<string, SumRow>();
  for (const r of rows) {
    const key = JSON.stringify(r.k);
    const sum = byKey.get(key);
    if (sum) r.c.forEach((n, i) => (sum.c[i] += n));
    else byKey.set(key, { k: r.k, c: [...r.c] });
  }
  return [...byKey.values()];
}

/** INSERT … SELECT summing `$.c[i]` per key `$.k[keyIndexes]` over the committed rows of one JSON parameter. */
function sumSql(table: string, key: readonly string[], keyIndexes: number[], values: readonly string[], where: string): string {
  const keys = keyIndexes.map((i) => `v.value ->> '$.k[${i}]'`);
  const sums = values.map((_, i) => `SUM(v.value ->> '$.c[${i}]')`);
  return `${jsonRows("?")} INSERT INTO ${table} (${[...key, ...values].join(", ")})
    SELECT ${[...keys, ...sums].join(", ")} FROM v WHERE (${where}) GROUP BY ${keys.join(", ")}
    ${onConflict(key, values)}`;
}
