import { z } from "zod";
import { ENDPOINT_STATUSES, EndpointConfigSchema, type EndpointConfig, type LiveState } from "./endpoint-model";

/** An `endpoints` row (migrations/0150_endpoints.sql), parsed into the config, the live state and the times. */
const EndpointRow = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    type: z.string(),
    port: z.number().nullable(),
    scheme: z.string().nullable(),
    path: z.string().nullable(),
    method: z.string().nullable(),
    expected_status: z.number().nullable(),
    timeout_ms: z.number(),
    group_name: z.string().nullable(),
    interval_seconds: z.number(),
    failure_threshold: z.number(),
    enabled: z.number(),
    shard: z.number(),
    status: z.enum(ENDPOINT_STATUSES),
    previous_status: z.enum(ENDPOINT_STATUSES).nullable(),
    status_changed_at: z.number().nullable(),
    last_checked_at: z.number().nullable(),
    last_response_time_ms: z.number().nullable(),
    consecutive_failures: z.number(),
    checks_success: z.number(),
    checks_failure: z.number(),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .transform((r) => ({
    config: EndpointConfigSchema.parse({
      id: r.id,
      name: r.name,
      address: r.address,
      type: r.type,
      port: r.port,
      scheme: r.scheme,
      path: r.path,
      method: r.method,
      expectedStatus: r.expected_status,
      timeoutMs: r.timeout_ms,
      group: r.group_name,
      intervalSeconds: r.interval_seconds,
      failureThreshold: r.failure_threshold,
      enabled: r.enabled === 1,
      shard: r.shard,
    }),
    live: {
      status: r.status,
      previousStatus: r.previous_status,
      statusChangedAt: r.status_changed_at,
      lastCheckedAt: r.last_checked_at,
      lastResponseTimeMs: r.last_response_time_ms,
      consecutiveFailures: r.consecutive_failures,
      checksSuccess: r.checks_success,
      checksFailure: r.checks_failure,
    } satisfies LiveState,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
export type StoredEndpoint = z.output<typeof EndpointRow>;

const CONFIG_COLUMNS = `name = ?2, address = ?3, type = ?4, port = ?5, scheme = ?6, path = ?7, method = ?8, expected_status = ?9, timeout_ms = ?10,
  group_name = ?11, interval_seconds = ?12, failure_threshold = ?13, enabled = ?14`;
const configValues = (c: EndpointConfig) => [
  c.id,
  c.name,
  c.address,
  c.type,
  c.port,
  c.scheme,
  c.path,
  c.method,
  c.expectedStatus,
  c.timeoutMs,
  c.group,
  c.intervalSeconds,
  c.failureThreshold,
  c.enabled ? 1 : 0,
];

export async function insertEndpoint(env: Env, config: EndpointConfig, now: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO endpoints (id, name, address, type, port, scheme, path, method, expected_status, timeout_ms, group_name, interval_seconds, failure_threshold, enabled, shard, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)`,
  )
    .bind(...configValues(config), config.shard, now)
    .run();
}

/**
 * Writes a changed config. Enabling a disabled endpoint starts it over as `unknown`, so that its
 * first determination is raised again (previousStatus "unknown").
 */
export async function updateEndpointConfig(env: Env, config: EndpointConfig, reEnabled: boolean, now: number): Promise<void> {
  await env.DB.prepare(
    `UPDATE endpoints SET ${CONFIG_COLUMNS}, updated_at = ?15,
       status = CASE WHEN ?16 THEN 'unknown' ELSE status END,
       previous_status = CASE WHEN ?16 THEN NULL ELSE previous_status END,
       consecutive_failures = CASE WHEN ?16 THEN 0 ELSE consecutive_failures END
     WHERE id = ?1`,
  )
    .bind(...configValues(config), now, reEnabled ? 1 : 0)
    .run();
}

/** Deletes the endpoint and its status changes; its checks age out of the shared rollup rows. */
export async function deleteEndpoint(env: Env, id: string): Promise<boolean> {
  const [, deleted] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM endpoint_status_changes WHERE endpoint_id = ?`).bind(id),
    env.DB.prepare(`DELETE FROM endpoints WHERE id = ?`).bind(id),
  ]);
  return deleted.meta.changes > 0;
}

export async function getEndpoint(env: Env, id: string): Promise<StoredEndpoint | null> {
  const row = await env.DB.prepare(`SELECT * FROM endpoints WHERE id = ?`).bind(id).first();
  return row ? EndpointRow.parse(row) : null;
}

export async function countEndpoints(env: Env): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM endpoints`).first<{ n: number }>();
  return row?.n ?? 0;
}

export async function listEndpoints(
  env: Env,
  filter: { group?: string; status?: string; limit: number; offset: number },
): Promise<{ items: StoredEndpoint[]; totalCount: number }> {
  const where = `WHERE (?1 IS NULL OR group_name = ?1) AND (?2 IS NULL OR status = ?2)`;
  const [rows, count] = await env.DB.batch([
    env.DB.prepare(`SELECT * FROM endpoints ${where} ORDER BY id LIMIT ?3 OFFSET ?4`).bind(filter.group ?? null, filter.status ?? null, filter.limit, filter.offset),
    env.DB.prepare(`SELECT COUNT(*) AS n FROM endpoints ${where}`).bind(filter.group ?? null, filter.status ?? null),
  ]);
  return { items: rows.results.map((r) => EndpointRow.parse(r)), totalCount: z.object({ n: z.number() }).parse(count.results[0]).n };
}

/** Every endpoint of a shard: what its monitor rebuilds itself from when its own storage is empty. */
export async function listShardEndpoints(env: Env, shard: number): Promise<StoredEndpoint[]> {
  const { results } = await env.DB.prepare(`SELECT * FROM endpoints WHERE shard = ?`).bind(shard).all();
  return results.map((r) => EndpointRow.parse(r));
}
