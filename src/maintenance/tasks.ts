import { readSettings } from "../config";
import { runRetention, type RetentionResult } from "./retention";

const RETENTION_TASK = "retention";
export const RETENTION_INTERVAL_MS = 86_400_000;
/** A run that crashed is retried after this; a live run renews nothing, so it must finish within it. */
const LEASE_MS = 10 * 60_000;
const RETRY_AFTER_ERROR_MS = 15 * 60_000;

/**
 * Called by the every-minute cron. The task row's `next_run_at` is the marker that makes the
 * retention purge run once a day: a run that stopped at its bound leaves it due, so the next
 * minute continues; a finished run moves it a day ahead. The conditional claim keeps two
 * overlapping invocations from running it together. Returns null when nothing was due.
 */
export async function runDueMaintenance(env: Env, now = Date.now()): Promise<RetentionResult | null> {
  const claimed = await env.DB.prepare(
    `UPDATE maintenance_tasks SET lease_until = ?1 + ?2, last_started_at = ?1
     WHERE name = ?3 AND next_run_at <= ?1 AND (lease_until IS NULL OR lease_until < ?1) RETURNING name`,
  )
    .bind(now, LEASE_MS, RETENTION_TASK)
    .first();
  if (!claimed) return null;
  let result: RetentionResult | null = null;
  try {
    result = await runRetention(env, now, readSettings(env));
    return result;
  } catch (err) {
    console.error("retention run failed; it is retried later", err);
    throw err;
  } finally {
    const next = result ? (result.more ? now : now + RETENTION_INTERVAL_MS) : now + RETRY_AFTER_ERROR_MS;
    await env.DB.prepare(`UPDATE maintenance_tasks SET lease_until = NULL, last_finished_at = ?1, next_run_at = ?2, last_result = ?3 WHERE name = ?4`)
      .bind(Date.now(), next, JSON.stringify(result ?? { error: true }), RETENTION_TASK)
      .run();
  }
}
