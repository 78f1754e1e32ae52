import { z } from "zod";
import type { JobRow } from "../db/schema";
import type { LogLine } from "../model/attempt";
import { extendLiveLease, getLiveJobs, liveStats } from "../scheduler/client";
import { knownQueueNames } from "../scheduler/job-ids";
import { HttpJobTypeRowSchema, type HttpJobTypeRow } from "./model";

export async function getHttpJobType(env: Env, name: string): Promise<HttpJobTypeRow | null> {
  const row = await env.DB.prepare(`SELECT * FROM http_job_types WHERE name = ?`).bind(name).first();
  return row ? HttpJobTypeRowSchema.parse(row) : null;
}

export async function getHttpJobTypes(env: Env, names: string[]): Promise<HttpJobTypeRow[]> {
  if (!names.length) return [];
  const { results } = await env.DB.prepare(`SELECT * FROM http_job_types WHERE name IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(names)).all();
  return results.map((r) => HttpJobTypeRowSchema.parse(r));
}

export async function listHttpJobTypes(env: Env): Promise<HttpJobTypeRow[]> {
  const { results } = await env.DB.prepare(`SELECT * FROM http_job_types ORDER BY name`).all();
  return results.map((r) => HttpJobTypeRowSchema.parse(r));
}

export async function httpJobTypeNames(env: Env): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT name FROM http_job_types ORDER BY name`).all<{ name: string }>();
  return results.map((r) => r.name);
}

/** Inserts a new type; false when the name is taken. */
export async function insertHttpJobType(env: Env, row: HttpJobTypeRow): Promise<boolean> {
  const { meta } = await env.DB.prepare(
    `INSERT INTO http_job_types (name, url, description, parameters_schema, timeout_ms, max_retries, callback_timeout_ms, header_names, credentials, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
  )
    .bind(
      row.name,
      row.url,
      row.description,
      row.parameters_schema,
      row.timeout_ms,
      row.max_retries,
      row.callback_timeout_ms,
      JSON.stringify(row.header_names),
      row.credentials,
      row.created_at,
      row.updated_at,
    )
    .run();
  return meta.changes === 1;
}

export async function updateHttpJobType(env: Env, row: HttpJobTypeRow): Promise<void> {
  await env.DB.prepare(
    `UPDATE http_job_types SET url = ?, description = ?, parameters_schema = ?, timeout_ms = ?, max_retries = ?, callback_timeout_ms = ?,
       header_names = ?, credentials = ?, updated_at = ? WHERE name = ?`,
  )
    .bind(
      row.url,
      row.description,
      row.parameters_schema,
      row.timeout_ms,
      row.max_retries,
      row.callback_timeout_ms,
      JSON.stringify(row.header_names),
      row.credentials,
      row.updated_at,
      row.name,
    )
    .run();
}

/**
 * Deletes a type unless a job of it is still pending or running (as the queues' schedulers count
 * their live jobs), or a recurring job (enabled or not) makes its runs of it. (A job whose creation
 * read the type just before it went keeps its own copy of the definition and still runs.)
 */
export async function deleteHttpJobType(env: Env, name: string): Promise<"deleted" | "in_use" | "missing"> {
  const stats = await Promise.all((await knownQueueNames(env)).map((queue) => liveStats(env, queue)));
  if (stats.some((s) => (s.byType[name]?.pending ?? 0) + (s.byType[name]?.running ?? 0) > 0)) {
    return (await getHttpJobType(env, name)) ? "in_use" : "missing";
  }
  const { results } = await env.DB.prepare(
    `DELETE FROM http_job_types WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM recurring_jobs WHERE type = ?1) RETURNING name`,
  )
    .bind(name)
    .all();
  if (results.length) return "deleted";
  return (await getHttpJobType(env, name)) ? "in_use" : "missing";
}

export type HttpJobDefinition = { jobId: string; typeName: string; url: string; callbackTimeoutMs: number; credentials: string };

/**
 * Statements that copy each new job's type definition next to it. They commit before the jobs are
 * created, so a job never runs without its definition; a definition whose job's creation then
 * failed is never read. A repeated creation (an idempotent retry) keeps the first copy.
 */
export function definitionStatements(env: Env, defs: HttpJobDefinition[]): D1PreparedStatement[] {
  if (!defs.length) return [];
  return [
    env.DB.prepare(
      `INSERT INTO http_job_definitions (job_id, type_name, url, callback_timeout_ms, credentials)
       SELECT value ->> '$.jobId', value ->> '$.typeName', value ->> '$.url', value ->> '$.callbackTimeoutMs', value ->> '$.credentials'
       FROM json_each(?) WHERE true ON CONFLICT (job_id) DO NOTHING`,
    ).bind(JSON.stringify(defs)),
  ];
}

export async function getDefinition(env: Env, jobId: string): Promise<HttpJobDefinition | null> {
  return env.DB.prepare(
    `SELECT job_id AS jobId, type_name AS typeName, url, callback_timeout_ms AS callbackTimeoutMs, credentials FROM http_job_definitions WHERE job_id = ?`,
  )
    .bind(jobId)
    .first<HttpJobDefinition>();
}

/** Records the (hashed) callback token of an attempt before it is delivered. */
export async function issueCallback(env: Env, jobId: string, attempt: number, tokenHash: string, now: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO http_job_callbacks (job_id, attempt, token_hash, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (job_id, attempt) DO UPDATE SET token_hash = excluded.token_hash, state = 'waiting', result = NULL, error = NULL, settled_at = NULL`,
  )
    .bind(jobId, attempt, tokenHash, now)
    .run();
}

export type CallbackState = {
  /** waiting: the delivery is in flight; accepted: answered 202, the attempt waits for a callback. */
  state: "waiting" | "accepted" | "completed" | "failed" | "cancelled";
  result: string | null;
  error: string | null;
  retry: number;
};

/** What the service reported for an attempt so far. */
export async function readCallback(env: Env, jobId: string, attempt: number): Promise<CallbackState | null> {
  return env.DB.prepare(`SELECT state, result, error, retry FROM http_job_callbacks WHERE job_id = ? AND attempt = ?`).bind(jobId, attempt).first<CallbackState>();
}

export type CallbackToken = { tokenHash: string; state: CallbackState["state"] };

export async function findCallbackToken(env: Env, jobId: string, attempt: number): Promise<CallbackToken | null> {
  return env.DB.prepare(`SELECT token_hash AS tokenHash, state FROM http_job_callbacks WHERE job_id = ? AND attempt = ?`).bind(jobId, attempt).first<CallbackToken>();
}

export type Verdict = { state: "completed" | "failed" | "cancelled"; result?: string | null; error?: string | null; retry?: boolean };

/** Moves an attempt's callback from `from` to a final state, once: false when it was not in `from`. */
export async function settleCallback(env: Env, jobId: string, attempt: number, verdict: Verdict, now: number, from: "waiting" | "accepted"): Promise<boolean> {
  const { results } = await env.DB.prepare(
    `UPDATE http_job_callbacks SET state = ?, result = ?, error = ?, retry = ?, settled_at = ?
     WHERE job_id = ? AND attempt = ? AND state = ? RETURNING job_id`,
  )
    .bind(verdict.state, verdict.result ?? null, verdict.error ?? null, verdict.retry === false ? 0 : 1, now, jobId, attempt, from)
    .all();
  return results.length === 1;
}

/**
 * Hands a delivered attempt over to its callback: its lease in its queue's scheduler now ends with
 * the callback window (then the scheduler fails it), and callbacks end it themselves. False when a
 * callback came first, or the attempt's cancel was requested (the heartbeat then aborts it).
 */
export async function acceptCallback(env: Env, job: Pick<JobRow, "id" | "queue">, attempt: number, deadline: number): Promise<boolean> {
  const { extended } = await extendLiveLease(env, { queue: job.queue, id: job.id, attempt, leaseUntil: deadline });
  if (!extended) return false;
  const [live] = (await getLiveJobs(env, job.queue, [job.id])).jobs;
  if (!live || live.job.attempt !== attempt || live.job.status !== "running" || live.job.cancelRequested === 1) return false;
  const { results } = await env.DB.prepare(`UPDATE http_job_callbacks SET state = 'accepted' WHERE job_id = ? AND attempt = ? AND state = 'waiting' RETURNING job_id`)
    .bind(job.id, attempt)
    .all();
  return results.length === 1;
}

const StoredLogLines = z.array(z.object({ level: z.string(), message: z.string(), details: z.string().nullable(), stepName: z.string().nullable(), createdAt: z.number() }));
/** Most log lines kept for one handed-off attempt (as for an attempt run here). */
const MAX_CALLBACK_LOG_LINES = 1000;

/** Appends log lines of a handed-off attempt to its callback row (they reach the job with the attempt's end). */
export async function appendCallbackLogs(env: Env, jobId: string, attempt: number, lines: LogLine[]): Promise<void> {
  if (!lines.length) return;
  await env.DB.prepare(
    `UPDATE http_job_callbacks SET logs = (
       SELECT json_group_array(json(value)) FROM (
         SELECT value FROM (SELECT value FROM json_each(COALESCE(logs, '[]')) UNION ALL SELECT value FROM json_each(?3)) LIMIT ?4))
     WHERE job_id = ?1 AND attempt = ?2`,
  )
    .bind(jobId, attempt, JSON.stringify(lines), MAX_CALLBACK_LOG_LINES)
    .run();
}

/** The log lines kept for a handed-off attempt. */
export async function callbackLogs(env: Env, jobId: string, attempt: number): Promise<LogLine[]> {
  const row = await env.DB.prepare(`SELECT logs FROM http_job_callbacks WHERE job_id = ? AND attempt = ?`).bind(jobId, attempt).first<{ logs: string | null }>();
  return row?.logs ? StoredLogLines.parse(JSON.parse(row.logs)) : [];
}
