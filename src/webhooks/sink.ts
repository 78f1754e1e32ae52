import { byGuard, JOB_STATE_EXISTS, jobStateTuple, type EventSink, type GuardedEvent, type JobState } from "../events/publisher";
import { eventJson, type DomainEvent } from "../model/events";
import { jsonRows } from "../db/json-rows";
import { chunkJsonRows } from "../lib/collections";
import { enqueueDeliveries } from "./dispatch";
import { isWebhookEvent } from "./model";

const asString = (v: unknown) => (typeof v === "string" ? v : null);

/**
 * The outbox: an INSERT … SELECT, committed in the state change's own transaction, that writes a
 * delivery row for every enabled endpoint subscribed to each event (and passing its filters) only
 * if the change committed (`guard`, over the `json_each` row `v`). With no matching endpoint it
 * writes nothing.
 */
function outboxStatement(env: Env, rows: { event: DomainEvent; g?: unknown[] }[], now: number, guard: { sql: string; params: unknown[] }): D1PreparedStatement {
  return outboxStatements(env, rows, now, guard)[0];
}

/** The outbox for many events: one statement per JSON parameter of at most JSON_CHUNK_BYTES (D1 takes values up to 2 MB). */
function outboxStatements(env: Env, rows: { event: DomainEvent; g?: unknown[] }[], now: number, guard: { sql: string; params: unknown[] }): D1PreparedStatement[] {
  // Built around the event's JSON as already encoded (see eventJson): the payload is stored as
  // JSON, not as a JSON string inside JSON (SQL reads it with `->`).
  const encoded = rows.map(({ event, g }) => {
    const jobType = event.type.startsWith("job.") ? asString(event.data.jobType) : null;
    const state = g === undefined ? "" : `,"g":${JSON.stringify(g)}`;
    return `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"payload":${eventJson(event)},"queue":${JSON.stringify(asString(event.data.queue))},"jobType":${JSON.stringify(jobType)}${state}}`;
  });
  return chunkJsonRows(encoded).map((json) => outboxInsert(env, json, now, guard));
}

function outboxInsert(env: Env, json: string, now: number, guard: { sql: string; params: unknown[] }): D1PreparedStatement {
  // Endpoints first (CROSS JOIN keeps that order): with none enabled, the events are never read.
  return env.DB.prepare(
    `${jsonRows("?1")} INSERT OR IGNORE INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)
     SELECT 'whd_' || lower(hex(randomblob(12))), e.id, v.value ->> '$.id', v.value ->> '$.type', v.value -> '$.payload', 'pending', 0, ?2, ?2, ?2
     FROM webhook_endpoints e CROSS JOIN v
     WHERE e.enabled = 1
       AND EXISTS (SELECT 1 FROM json_each(e.events) WHERE value = v.value ->> '$.type')
       AND (v.value ->> '$.queue' IS NULL OR e.filter_queues IS NULL OR EXISTS (SELECT 1 FROM json_each(e.filter_queues) WHERE value = v.value ->> '$.queue'))
       AND (v.value ->> '$.jobType' IS NULL OR e.filter_job_types IS NULL OR EXISTS (SELECT 1 FROM json_each(e.filter_job_types) WHERE value = v.value ->> '$.jobType'))
       AND (${guard.sql})`,
  ).bind(json, now, ...guard.params);
}

/** The outbox for one event under any guard. */
export function deliveryStatement(env: Env, { event, guard }: GuardedEvent, now: number): D1PreparedStatement {
  return outboxStatement(env, [{ event }], now, guard);
}

/** The outbox for many job-guarded events, in as few statements as their size allows. */
function deliveriesStatements(env: Env, events: (GuardedEvent & { guard: { job: JobState } })[], now: number): D1PreparedStatement[] {
  return outboxStatements(env, events.map(({ event, guard }) => ({ event, g: jobStateTuple(guard.job) })), now, { sql: JOB_STATE_EXISTS, params: [] });
}

export const webhookSink: EventSink = {
  name: "webhooks",
  statements(env, events) {
    const now = Date.now();
    const { jobGuarded, groups } = byGuard(events.filter((g) => isWebhookEvent(g.event.type)));
    return [
      ...(jobGuarded.length ? deliveriesStatements(env, jobGuarded, now) : []),
      // Events sharing a guard (an archive flush's marker): one statement for the whole group (per 900 KB).
      ...groups.flatMap(({ guard, events: group }) => outboxStatements(env, group.map(({ event }) => ({ event })), now, guard)),
    ];
  },
  // A job's lifecycle events are raised by its queue's object, which publishes them before their
  // outbox rows exist: those rows come with the object's archive flush and are sent after it.
  deliver: (env, events) => sendOutbox(env, events.filter((e) => !e.type.startsWith("job."))),
  afterFlush: sendOutbox,
};

/** Queues the first attempt of the outbox rows these events wrote (those not yet sent). */
async function sendOutbox(env: Env, events: DomainEvent[]): Promise<void> {
  const ids = events.filter((e) => isWebhookEvent(e.type)).map((e) => e.id);
  if (!ids.length) return;
  const { results } = await env.DB.prepare(
    `SELECT id FROM webhook_deliveries WHERE event_id IN (SELECT value FROM json_each(?)) AND redelivery_of IS NULL AND status = 'pending' AND attempts = 0`,
  )
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  await enqueueDeliveries(env, results.map((r) => r.id));
}
