import type { Settings } from "../config";

/**
 * Endpoint check rollups past their age: minute rows (raw checks) after ENDPOINT_RAW_RETENTION_HOURS,
 * hour rows after METRICS_RETENTION_DAYS. A few rows per shard and hour, so one statement each is bounded.
 */
export async function purgeEndpointRollups(env: Env, now: number, settings: Pick<Settings, "metricsRetentionMs" | "monitoring">): Promise<number> {
  const [minutes, hours] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM endpoint_rollups WHERE bucket = 'minute' AND bucket_start < ?`).bind(now - settings.monitoring.rawRetentionMs),
    env.DB.prepare(`DELETE FROM endpoint_rollups WHERE bucket = 'hour' AND bucket_start < ?`).bind(now - settings.metricsRetentionMs),
  ]);
  return minutes.meta.changes + hours.meta.changes;
}
