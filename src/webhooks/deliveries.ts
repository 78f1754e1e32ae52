import { eventStatements, type Guard } from "../events/publisher";
import { makeEvent, type DomainEvent } from "../model/events";
import { newId } from "../lib/ids";
import { hostOf } from "../net/redact";
import { AttemptRowSchema, DeliveryRowSchema, EndpointRowSchema, StoredEventSchema, type AttemptRow, type DeliveryRow, type EndpointRow, type StoredEvent } from "./model";
import type { AttemptResult } from "./send";

/** How long a claimed attempt may take (the longest timeout plus slack) before the delivery counts as stuck. */
export const ATTEMPT_LEASE_MS = 60_000;
/** A pending delivery this far past due, with no message sent for it this long, is sent again by the reconciler. */
export const STUCK_AFTER_MS = 60_000;
const RESEND_BATCH = 500;
/** Finished deliveries (and their attempt log) are kept this long. */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
const PURGE_BATCH = 500;

export async function getDelivery(env: Env, id: string): Promise<DeliveryRow | null> {
  const row = await env.DB.prepare(`SELECT * FROM webhook_deliveries WHERE id = ?`).bind(id).first();
  return row ? DeliveryRowSchema.parse(row) : null;
}

export async function attemptsOf(env: Env, ids: string[]): Promise<Map<string, AttemptRow[]>> {
  const out = new Map<string, AttemptRow[]>();
  if (!ids.length) return out;
  const { results } = await env.DB.prepare(`SELECT * FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt`)
    .bind(JSON.stringify(ids))
    .all();
  for (const r of results.map((x) => AttemptRowSchema.parse(x))) {
    const list = out.get(r.delivery_id) ?? [];
    list.push(r);
    out.set(r.delivery_id, list);
  }
  return out;
}

export async function listDeliveries(env: Env, endpointId: string, q: { status?: string; event?: string; limit: number; offset: number }) {
  const where = `endpoint_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR event_type = ?3)`;
  const [rows, count] = await env.DB.batch([
    env.DB.prepare(`SELECT * FROM webhook_deliveries WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5`).bind(endpointId, q.status ?? null, q.event ?? null, q.limit, q.offset),
    env.DB.prepare(`SELECT COUNT(*) AS n FROM webhook_deliveries WHERE ${where}`).bind(endpointId, q.status ?? null, q.event ?? null),
  ]);
  const deliveries = rows.results.map((r) => DeliveryRowSchema.parse(r));
  const totalCount = Number((count.results[0] as { n: number }).n);
  return { deliveries, totalCount, hasMore: q.offset + deliveries.length < totalCount };
}

/**
 * Claims the next attempt of a pending, due delivery of an enabled endpoint: a conditional UPDATE
 * that a duplicate message cannot win while the attempt runs (its lease pushes `next_attempt_at`).
 */
export async function claimDelivery(env: Env, id: string, now: number): Promise<{ delivery: DeliveryRow; endpoint: EndpointRow } | null> {
  const [claimed, endpoint] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?1 + ?2, updated_at = ?1
       WHERE id = ?3 AND status = 'pending' AND next_attempt_at <= ?1 + 2000
         AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = endpoint_id AND e.enabled = 1)
       RETURNING *`,
    ).bind(now, ATTEMPT_LEASE_MS, id),
    env.DB.prepare(`SELECT e.* FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id WHERE d.id = ?`).bind(id),
  ]);
  const row = claimed.results[0];
  if (!row || !endpoint.results[0]) return null;
  return { delivery: DeliveryRowSchema.parse(row), endpoint: EndpointRowSchema.parse(endpoint.results[0]) };
}

/** A pending delivery whose endpoint was disabled or deleted ends failed, without an attempt. */
export async function failOrphanedDelivery(env: Env, id: string, now: number): Promise<boolean> {
  const res = await env.DB.prepare(
    `UPDATE webhook_deliveries SET status = 'failed', error = 'The endpoint was disabled or deleted before this delivery was sent', next_attempt_at = NULL,
       completed_at = ?1, updated_at = ?1
     WHERE id = ?2 AND status = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = endpoint_id AND e.enabled = 1)
     RETURNING id`,
  )
    .bind(now, id)
    .all();
  return res.results.length > 0;
}

export type Outcome = { kind: "succeeded" } | { kind: "retry"; delaySeconds: number } | { kind: "failed" };

/**
 * Records one attempt and its consequences in one transaction: the delivery's new state, the
 * attempt log row and, for a finished delivery, the endpoint's health. An endpoint that reaches
 * its failure limit (or answered 410) is disabled, and the system.alert saying so is committed
 * with it (naming the endpoint by id and host: its URL may be a credential, and alerts reach
 * read-only subscribers). Returns that alert when this attempt disabled the endpoint.
 */
export async function recordAttempt(
  env: Env,
  endpoint: EndpointRow,
  delivery: DeliveryRow,
  result: AttemptResult,
  outcome: Outcome,
  now: number,
): Promise<DomainEvent | null> {
  const status = outcome.kind === "retry" ? "pending" : outcome.kind;
  const nextAttemptAt = outcome.kind === "retry" ? now + outcome.delaySeconds * 1000 : null;
  const recorded = `EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ? AND status = ? AND attempts = ? AND updated_at = ?)`;
  const recordedParams = [delivery.id, status, delivery.attempts, now];
  const statements: D1PreparedStatement[] = [
    env.DB.prepare(
      `UPDATE webhook_deliveries SET status = ?1, response_status = ?2, latency_ms = ?3, error = ?4, next_attempt_at = ?5,
         sent_at = CASE WHEN ?1 = 'pending' THEN ?6 ELSE sent_at END, completed_at = CASE WHEN ?1 = 'pending' THEN NULL ELSE ?6 END, updated_at = ?6
       WHERE id = ?7 AND status = 'pending' AND attempts = ?8`,
    ).bind(status, result.status, result.latencyMs, result.error, nextAttemptAt, now, delivery.id, delivery.attempts),
    env.DB.prepare(
      `INSERT OR REPLACE INTO webhook_attempts (delivery_id, attempt, started_at, response_status, latency_ms, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).bind(delivery.id, delivery.attempts, now - result.latencyMs, result.status, result.latencyMs, result.error, result.responseBody),
  ];
  let alert: DomainEvent | null = null;
  if (outcome.kind === "succeeded") {
    statements.push(
      env.DB.prepare(
        `UPDATE webhook_endpoints SET consecutive_failures = 0, succeeded_deliveries = succeeded_deliveries + 1, last_success_at = ? WHERE id = ? AND ${recorded}`,
      ).bind(now, endpoint.id, ...recordedParams),
    );
  } else if (outcome.kind === "failed") {
    const reason = result.gone ? "The endpoint answered 410 Gone" : `${endpoint.consecutive_failures + 1} consecutive failed deliveries (last: ${result.error ?? "failed"})`;
    const disable = `enabled = 1 AND (?1 OR consecutive_failures + 1 >= disable_after_failures)`;
    statements.push(
      env.DB.prepare(
        `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, failed_deliveries = failed_deliveries + 1, last_failure_at = ?2,
           disabled_reason = CASE WHEN ${disable} THEN ?3 ELSE disabled_reason END,
           disabled_at = CASE WHEN ${disable} THEN ?2 ELSE disabled_at END,
           enabled = CASE WHEN ${disable} THEN 0 ELSE enabled END
         WHERE id = ?4 AND ${recorded}
         RETURNING enabled, disabled_at`,
      ).bind(result.gone ? 1 : 0, now, reason, endpoint.id, ...recordedParams),
    );
    alert = makeEvent(
      "system.alert",
      {
        alert: "webhook_endpoint_disabled",
        severity: "critical",
        message: `Webhook endpoint ${endpoint.id} (${hostOf(endpoint.url)}) was disabled: ${reason}`,
        webhookId: endpoint.id,
        host: hostOf(endpoint.url),
        consecutiveFailures: endpoint.consecutive_failures + 1,
        reason,
      },
      now,
    );
    const disabledNow: Guard = { sql: `EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ? AND enabled = 0 AND disabled_at = ?) AND ${recorded}`, params: [endpoint.id, now, ...recordedParams] };
    statements.push(...eventStatements(env, [{ event: alert, guard: disabledNow }]));
  }
  const results = await env.DB.batch(statements);
  if (!alert) return null;
  const after = results[2].results[0] as { enabled: number; disabled_at: number | null } | undefined;
  return after?.enabled === 0 && after.disabled_at === now ? alert : null;
}

/** A new delivery of a finished delivery's event (same payload, same webhook-id), due now. */
export async function redeliver(env: Env, original: DeliveryRow, now: number): Promise<DeliveryRow> {
  const id = newId("whd");
  await env.DB.prepare(
    `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, redelivery_of, created_at, updated_at)
     SELECT ?1, endpoint_id, event_id, event_type, payload, 'pending', 0, ?2, id, ?2, ?2 FROM webhook_deliveries WHERE id = ?3`,
  )
    .bind(id, now, original.id)
    .run();
  return (await getDelivery(env, id))!;
}

/** Stores a delivery that was attempted once, synchronously (the test ping). */
export async function insertFinishedDelivery(env: Env, endpointId: string, event: StoredEvent, result: AttemptResult, now: number): Promise<DeliveryRow> {
  const id = newId("whd");
  const status = result.ok ? "succeeded" : "failed";
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, status, attempts, response_status, latency_ms, error, created_at, updated_at, completed_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?10, ?10)`,
    ).bind(id, endpointId, event.id, event.type, JSON.stringify(event), status, result.status, result.latencyMs, result.error, now),
    env.DB.prepare(`INSERT INTO webhook_attempts (delivery_id, attempt, started_at, response_status, latency_ms, error, response_body) VALUES (?, 1, ?, ?, ?, ?, ?)`).bind(
      id,
      now - result.latencyMs,
      result.status,
      result.latencyMs,
      result.error,
      result.responseBody,
    ),
  ]);
  return (await getDelivery(env, id))!;
}

export const parseStoredEvent = (delivery: DeliveryRow): StoredEvent => StoredEventSchema.parse(JSON.parse(delivery.payload));

/**
 * Pending deliveries that are well past due with no message sent for them lately: their message
 * was never sent (the sender died after the commit), was lost, or ended in the DLQ. Marks them
 * sent and returns their ids, to be sent again.
 */
export async function takeStuckDeliveries(env: Env, now: number): Promise<string[]> {
  const cutoff = now - STUCK_AFTER_MS;
  const { results } = await env.DB.prepare(
    `UPDATE webhook_deliveries SET sent_at = ?1
     WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?2 AND (sent_at IS NULL OR sent_at <= ?2) ORDER BY next_attempt_at LIMIT ?3)
     RETURNING id`,
  )
    .bind(now, cutoff, RESEND_BATCH)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Deletes up to one batch of deliveries that finished before the retention window, with their attempts; returns how many. */
export async function purgeFinishedDeliveries(env: Env, now: number): Promise<number> {
  const old = `SELECT id FROM webhook_deliveries WHERE completed_at IS NOT NULL AND completed_at < ?1 ORDER BY completed_at LIMIT ?2`;
  const [, deleted] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM webhook_attempts WHERE delivery_id IN (${old})`).bind(now - DELIVERY_RETENTION_MS, PURGE_BATCH),
    env.DB.prepare(`DELETE FROM webhook_deliveries WHERE id IN (${old})`).bind(now - DELIVERY_RETENTION_MS, PURGE_BATCH),
  ]);
  return deleted.meta.changes;
}
