import { eventStatements } from "../events/publisher";
import type { DomainEvent, EndpointStatusEventData } from "../model/events";
import type { EndpointConfig, LiveState } from "./endpoint-model";
import type { HourRollup, MinuteRollup } from "./rollup-data";
import type { StatusChange } from "./status";

export type PendingChange = { endpointId: string; change: StatusChange; config: EndpointConfig };

export type FlushInput = {
  shard: number;
  live: { id: string; live: LiveState }[];
  changes: PendingChange[];
  minutes: [number, MinuteRollup][];
  hours: [number, HourRollup][];
};

/** Stable per change, so that a flush sent twice writes (and raises) it once. */
export const statusChangeId = (endpointId: string, at: number) => `esc_${endpointId}_${at}`;

export function statusChangedEvent({ endpointId, change, config }: PendingChange): DomainEvent {
  const data: EndpointStatusEventData = {
    endpointId,
    name: config.name,
    address: config.address,
    group: config.group,
    type: config.type,
    status: change.status,
    previousStatus: change.previousStatus === "unknown" ? "unknown" : change.previousStatus,
    responseTime: change.responseTimeMs,
    changedAt: new Date(change.at).toISOString(),
  };
  return { id: `evt_${statusChangeId(endpointId, change.at)}`, type: "endpoint.status_changed", timestamp: data.changedAt, data };
}

/**
 * One shard's flush as one D1 transaction: the live columns of the endpoints that changed, each
 * status change with its event's sink statements (guarded by the change row, which is only written
 * while the endpoint exists), the changed closed minutes' raw checks and the changed hours' stats, each row whole.
 */
export function flushStatements(env: Env, input: FlushInput): { statements: D1PreparedStatement[]; events: DomainEvent[] } {
  const db = env.DB;
  const statements: D1PreparedStatement[] = [];
  if (input.live.length) {
    const rows = input.live.map(({ id, live: l }) => ({
      id,
      s: l.status,
      p: l.previousStatus,
      sc: l.statusChangedAt,
      lc: l.lastCheckedAt,
      rt: l.lastResponseTimeMs,
      cf: l.consecutiveFailures,
      ok: l.checksSuccess,
      ko: l.checksFailure,
    }));
    statements.push(
      db
        .prepare(
          `UPDATE endpoints SET status = v.value ->> '$.s', previous_status = v.value ->> '$.p', status_changed_at = v.value ->> '$.sc',
             last_checked_at = v.value ->> '$.lc', last_response_time_ms = v.value ->> '$.rt', consecutive_failures = v.value ->> '$.cf',
             checks_success = v.value ->> '$.ok', checks_failure = v.value ->> '$.ko'
           FROM json_each(?) v WHERE endpoints.id = v.value ->> '$.id'`,
        )
        .bind(JSON.stringify(rows)),
    );
  }
  const events: DomainEvent[] = [];
  for (const pending of input.changes) {
    const id = statusChangeId(pending.endpointId, pending.change.at);
    const { change } = pending;
    statements.push(
      db
        .prepare(
          `INSERT OR IGNORE INTO endpoint_status_changes (id, endpoint_id, at, status, previous_status, response_time_ms)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = ?2)`,
        )
        .bind(id, pending.endpointId, change.at, change.status, change.previousStatus, change.responseTimeMs),
    );
    const event = statusChangedEvent(pending);
    events.push(event);
    statements.push(...eventStatements(env, [{ event, guard: { sql: `EXISTS (SELECT 1 FROM endpoint_status_changes WHERE id = ?)`, params: [id] } }]));
  }
  const rollup = (bucket: "minute" | "hour", start: number, data: unknown) =>
    db.prepare(`INSERT OR REPLACE INTO endpoint_rollups (bucket, bucket_start, shard, data) VALUES (?, ?, ?, ?)`).bind(bucket, start, input.shard, JSON.stringify(data));
  for (const [start, data] of input.minutes) statements.push(rollup("minute", start, data));
  for (const [start, data] of input.hours) statements.push(rollup("hour", start, data));
  return { statements, events };
}
