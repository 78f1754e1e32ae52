// Seeds the monitoring tables directly, as the endpoint monitor would write them (rows built with
// the rollup-data schemas). Shared by the Workers-pool tests and the black-box ones (as SQL).
import { addCheck, emptyStats } from "../../src/monitoring/check-stats";
import { HourRollupSchema, MinuteRollupSchema, type PackedCheck } from "../../src/monitoring/rollup-data";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Midnight UTC two days before `now`: every fixture time is within the default export period. */
export const fixtureBase = (now: number) => Math.floor(now / DAY) * DAY - 2 * DAY;

const hourStats = (rts: (number | null)[]) => rts.reduce((s, rt, i) => addCheck(s, [i, rt == null ? 0 : 1, rt, rt == null ? "down" : null]), emptyStats());

export function monitoringFixture(now: number) {
  const base = fixtureBase(now);
  const m1 = base + 10 * HOUR;
  const m2 = m1 + MINUTE;
  const endpoints = [
    { id: "ep-123", name: "router-01", address: "10.0.0.1", type: "tcp", group: "network", enabled: 1, shard: 0, status: "online", rt: 2.5, ok: 8640, failed: 12, createdAt: base - 15 * DAY },
    { id: "ep-456", name: "server-01", address: "10.0.0.2", type: "http", group: "servers", enabled: 1, shard: 1, status: "offline", rt: null, ok: 10, failed: 5, createdAt: base - DAY },
    // Same name as ep-123, disabled, without a group.
    { id: "ep-789", name: "router-01", address: "10.0.0.3", type: "tcp", group: null, enabled: 0, shard: 0, status: "online", rt: 7, ok: 1, failed: 0, createdAt: base - DAY },
  ];
  const minute = (data: Record<string, PackedCheck[]>) => JSON.stringify(MinuteRollupSchema.parse(Object.fromEntries(Object.entries(data).map(([id, c]) => [id, { c }]))));
  const hour = (data: Record<string, (number | null)[]>) => JSON.stringify(HourRollupSchema.parse(Object.fromEntries(Object.entries(data).map(([id, rts]) => [id, hourStats(rts)]))));
  const rollups: { bucket: "minute" | "hour"; start: number; shard: number; data: string }[] = [
    { bucket: "minute", start: m1, shard: 0, data: minute({ "ep-123": [[m1, 1, 2, null], [m1 + 30_000, 1, 4, null]] }) },
    { bucket: "minute", start: m1, shard: 1, data: minute({ "ep-456": [[m1 + 5_000, 0, null, 'connection refused, "ECONNREFUSED"'], [m1 + 35_000, 1, 10, null]] }) },
    { bucket: "minute", start: m2, shard: 0, data: minute({ "ep-123": [[m2, 0, null, "timeout"], [m2 + 30_000, 1, 6, null]] }) },
    { bucket: "hour", start: m1, shard: 0, data: hour({ "ep-123": [2, 4, null, 6] }) },
    { bucket: "hour", start: m1, shard: 1, data: hour({ "ep-456": [null, 10] }) },
    { bucket: "hour", start: m1 + HOUR, shard: 0, data: hour({ "ep-123": [...Array(40).fill(1), ...Array(40).fill(2), ...Array(40).fill(3)] }) },
    { bucket: "hour", start: base + DAY + 3 * HOUR, shard: 0, data: hour({ "ep-123": Array(10).fill(2) }) },
  ];
  const changes = [
    { id: "esc-1", endpointId: "ep-456", at: m1 + 5_000, status: "offline", previous: "online", rt: null },
    { id: "esc-2", endpointId: "ep-123", at: m2, status: "offline", previous: "online", rt: null },
    { id: "esc-3", endpointId: "ep-123", at: m2 + 30_000, status: "online", previous: "offline", rt: 6 },
  ];
  const q = (v: unknown) => (v == null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
  const sql = [
    "DELETE FROM endpoints",
    "DELETE FROM endpoint_rollups",
    "DELETE FROM endpoint_status_changes",
    ...endpoints.map(
      (e) =>
        `INSERT INTO endpoints (id, name, address, type, timeout_ms, group_name, interval_seconds, failure_threshold, enabled, shard, status, last_checked_at, last_response_time_ms, checks_success, checks_failure, created_at, updated_at) VALUES (${[e.id, e.name, e.address, e.type, 5000, e.group, 30, 1, e.enabled, e.shard, e.status, now, e.rt, e.ok, e.failed, e.createdAt, e.createdAt].map(q).join(", ")});`,
    ),
    ...rollups.map((r) => `INSERT INTO endpoint_rollups (bucket, bucket_start, shard, data) VALUES (${[r.bucket, r.start, r.shard, r.data].map(q).join(", ")})`),
    ...changes.map((c) => `INSERT INTO endpoint_status_changes (id, endpoint_id, at, status, previous_status, response_time_ms) VALUES (${[c.id, c.endpointId, c.at, c.status, c.previous, c.rt].map(q).join(", ")})`),
  ];
  /** One statement per entry, without the closing semicolon. */
  return { base, m1, m2, endpoints, rollups, changes, sql };
}
