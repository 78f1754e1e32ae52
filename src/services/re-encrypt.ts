import { ApiError } from "../http/errors";
import { resealJobParameters } from "../jobs/job-secrets";
import { knownQueueNames } from "../scheduler/job-ids";
import { replaceLiveParameters, sealedLiveJobs } from "../scheduler/client";
import { CredentialsUnavailableError, hasEncryptionKey, MISSING_KEY_MESSAGE, resealWithCurrentKey } from "../lib/sealing";

/** Job rows read per query while looking for sealed credentials. */
const JOB_PAGE = 500;

export type ReencryptReport = { webhooks: number; recurringJobs: number; jobs: number; unreadable: string[] };

/**
 * The one-off after a key change (from the old ADMIN_TOKEN-derived key, or from a previous
 * WEBHOOK_SECRET_KEY): everything still sealed with LEGACY_WEBHOOK_SECRET_KEY is sealed again with
 * WEBHOOK_SECRET_KEY, in D1 and in the queues' objects (live jobs). Idempotent; rows already on the current key are left alone, and rows that
 * neither key opens are listed in `unreadable`.
 */
export async function reencryptStoredSecrets(env: Env): Promise<ReencryptReport> {
  if (!hasEncryptionKey(env)) throw new ApiError(503, "not_configured", MISSING_KEY_MESSAGE);
  const report: ReencryptReport = { webhooks: 0, recurringJobs: 0, jobs: 0, unreadable: [] };
  const unreadable = (id: string) => (err: unknown) => {
    if (!(err instanceof CredentialsUnavailableError)) throw err;
    report.unreadable.push(id);
    return null;
  };

  const { results: endpoints } = await env.DB.prepare(`SELECT id, credentials FROM webhook_endpoints`).all<{ id: string; credentials: string }>();
  const endpointUpdates: D1PreparedStatement[] = [];
  for (const e of endpoints) {
    const sealed = await resealWithCurrentKey(env, e.credentials, e.id).catch(unreadable(e.id));
    if (sealed) endpointUpdates.push(env.DB.prepare(`UPDATE webhook_endpoints SET credentials = ? WHERE id = ? AND credentials = ?`).bind(sealed, e.id, e.credentials));
  }
  if (endpointUpdates.length) await env.DB.batch(endpointUpdates);
  report.webhooks = endpointUpdates.length;

  for (const table of ["recurring_jobs", "jobs"] as const) {
    for (let after = ""; ; ) {
      const { results } = await env.DB.prepare(
        `SELECT id, type, parameters FROM ${table} WHERE id > ? AND instr(parameters, '"$sealed"') > 0 ORDER BY id LIMIT ?`,
      )
        .bind(after, JOB_PAGE)
        .all<{ id: string; type: string; parameters: string }>();
      const updates: D1PreparedStatement[] = [];
      for (const r of results) {
        const resealed = await resealJobParameters(env, r.type, r.parameters).catch(unreadable(r.id));
        if (resealed) updates.push(env.DB.prepare(`UPDATE ${table} SET parameters = ? WHERE id = ? AND parameters = ?`).bind(resealed, r.id, r.parameters));
      }
      if (updates.length) await env.DB.batch(updates);
      report[table === "jobs" ? "jobs" : "recurringJobs"] += updates.length;
      if (results.length < JOB_PAGE) break;
      after = results[results.length - 1].id;
    }
  }
  // Live jobs are held by their queues' objects, not in D1.
  for (const queue of await knownQueueNames(env)) {
    const { jobs } = await sealedLiveJobs(env, queue);
    const updates: { id: string; from: string; to: string }[] = [];
    for (const j of jobs) {
      const resealed = await resealJobParameters(env, j.type, j.parameters).catch(unreadable(j.id));
      if (resealed) updates.push({ id: j.id, from: j.parameters, to: resealed });
    }
    if (updates.length) report.jobs += (await replaceLiveParameters(env, queue, updates)).replaced.length;
  }
  return report;
}
