import { z } from "zod";
import { JobRowSchema } from "../db/job-row";
import type { AttemptRow, JobRow } from "../db/schema";

/** Rows read per import step (each step is one segment and one D1 delete). */
export const LEGACY_IMPORT_BATCH = 500;

const AttemptDbRow = z.object({
  job_id: z.string(),
  attempt: z.number().int(),
  status: z.enum(["running", "completed", "failed", "cancelled"]),
  started_at: z.number().int(),
  completed_at: z.number().int().nullable(),
  duration_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  retry_at: z.number().int().nullable(),
  handler_started_at: z.number().int().nullable().optional(),
});

export type LegacyBatch = { jobs: JobRow[]; attempts: AttemptRow[]; started: [string, number][] };

/**
 * Live jobs the previous engine left in D1 for `queue` (pending or running rows), with their
 * history rows and which running attempts had started their handler. Skips `held` ids.
 */
export async function readLegacyJobs(env: Env, queue: string, held: (id: string) => boolean): Promise<LegacyBatch & { readIds: string[] }> {
  const { results } = await env.DB.prepare(`SELECT * FROM jobs WHERE queue = ? AND status IN ('pending', 'running') ORDER BY created_at LIMIT ?`)
    .bind(queue, LEGACY_IMPORT_BATCH)
    .all();
  const rows = results.map((r) => JobRowSchema.parse(r));
  const jobs = rows.filter((j) => !held(j.id));
  const readIds = rows.map((r) => r.id);
  if (!jobs.length) return { jobs, attempts: [], started: [], readIds };
  const { results: attemptRows } = await env.DB.prepare(`SELECT * FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(?))`)
    .bind(JSON.stringify(jobs.map((j) => j.id)))
    .all();
  const running = new Map(jobs.filter((j) => j.status === "running").map((j) => [j.id, j.attempt]));
  const attempts: AttemptRow[] = [];
  const started: [string, number][] = [];
  for (const raw of attemptRows) {
    const a = AttemptDbRow.parse(raw);
    attempts.push({ jobId: a.job_id, attempt: a.attempt, status: a.status, startedAt: a.started_at, completedAt: a.completed_at, durationMs: a.duration_ms, error: a.error, retryAt: a.retry_at });
    if (running.get(a.job_id) === a.attempt && a.handler_started_at != null) started.push([a.job_id, a.attempt]);
  }
  return { jobs, attempts, started, readIds };
}

/**
 * Deletes imported rows from D1, only while they are still live there (a row the old engine
 * finished meanwhile stays). Their history rows go too: the object now holds them and the flush
 * writes them back with the job's end.
 */
export async function deleteLegacyRows(env: Env, ids: string[]): Promise<void> {
  if (!ids.length) return;
  const json = JSON.stringify(ids);
  await env.DB.batch([
    env.DB.prepare(
      `DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND status IN ('pending', 'running'))`,
    ).bind(json),
    env.DB.prepare(`DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) AND status IN ('pending', 'running')`).bind(json),
  ]);
}
