import { z } from "zod";
import { JobRowSchema } from "../db/job-row";
import type { AttemptRow, JobRow, LogRow } from "../db/schema";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Optional R2 bucket: retention moves expired history here (NDJSON per day and queue) instead of only deleting it. */
      ARCHIVE_BUCKET?: R2Bucket;
    }
  }
}

/** One job as it is read back from R2: its final row, its attempt rows (if it had more than one) and its log lines. */
export type HistoryRecord = { job: JobRow; attempts: AttemptRow[]; logs: LogRow[] };
/** One job as retention writes it: the `jobs` and `job_attempts` rows as D1 returned them (snake_case), and its log lines. */
export type RawHistoryRecord = { job: { id: string; queue: string; created_at: number }; attempts: unknown[]; logs: LogRow[] };

const PREFIX = "history";
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const queuePrefix = (queue: string) => `${PREFIX}/${encodeURIComponent(queue)}/`;

/**
 * Where a group of jobs goes: one object per retention batch, queue and UTC day of creation, named
 * by its first job id, so a retried batch overwrites its own object. A queue's day is the prefix
 * `history/<queue>/<day>/`.
 */
export const historyKey = (queue: string, day: string, firstId: string) => `${queuePrefix(queue)}${day}/${firstId}.ndjson`;

/** Writes the records as NDJSON objects, one per (queue, day of creation). Returns the keys written. */
export async function writeHistory(bucket: R2Bucket, records: RawHistoryRecord[]): Promise<string[]> {
  const groups = new Map<string, RawHistoryRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([dayOf(r.job.created_at), r.job.queue]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const keys: string[] = [];
  for (const [group, list] of groups) {
    const [day, queue] = z.tuple([z.string(), z.string()]).parse(JSON.parse(group));
    const key = historyKey(queue, day, list[0].job.id);
    await bucket.put(key, list.map((r) => JSON.stringify(r)).join("\n") + "\n", { httpMetadata: { contentType: "application/x-ndjson" } });
    keys.push(key);
  }
  return keys;
}

const AttemptSchema = z
  .object({
    job_id: z.string(),
    attempt: z.number(),
    status: z.enum(["running", "completed", "failed", "cancelled"]),
    started_at: z.number(),
    completed_at: z.number().nullable(),
    duration_ms: z.number().nullable(),
    error: z.string().nullable(),
    retry_at: z.number().nullable(),
  })
  .transform(
    (a): AttemptRow => ({
      jobId: a.job_id,
      attempt: a.attempt,
      status: a.status,
      startedAt: a.started_at,
      completedAt: a.completed_at,
      durationMs: a.duration_ms,
      error: a.error,
      retryAt: a.retry_at,
    }),
  );
const LogSchema = z.object({
  id: z.number(),
  jobId: z.string(),
  attempt: z.number(),
  level: z.string(),
  message: z.string(),
  details: z.string().nullable(),
  stepName: z.string().nullable(),
  createdAt: z.number(),
});
const RecordSchema = z.object({ job: JobRowSchema, attempts: z.array(AttemptSchema), logs: z.array(LogSchema) });

/**
 * The jobs of one queue created on one UTC day (`YYYY-MM-DD`) that retention moved to R2, oldest
 * first. A batch retried after a crash can have written a job twice: each id appears once here.
 */
export async function readHistory(bucket: R2Bucket, queue: string, day: string): Promise<HistoryRecord[]> {
  const byId = new Map<string, HistoryRecord>();
  let cursor: string | undefined;
  do {
    const list = await bucket.list({ prefix: `${queuePrefix(queue)}${day}/`, cursor });
    for (const o of list.objects) {
      const body = await bucket.get(o.key);
      if (!body) continue;
      for (const line of (await body.text()).split("\n")) {
        if (!line) continue;
        const r = RecordSchema.parse(JSON.parse(line));
        const seen = byId.get(r.job.id);
        if (!seen || seen.job.updatedAt <= r.job.updatedAt) byId.set(r.job.id, r);
      }
    }
    cursor = list.truncated ? list.cursor : undefined;
  } while (cursor);
  return [...byId.values()].sort((a, b) => a.job.createdAt - b.job.createdAt || (a.job.id < b.job.id ? -1 : 1));
}

/** The days (`YYYY-MM-DD`) that have history of this queue in R2, oldest first. */
export async function historyDays(bucket: R2Bucket, queue: string): Promise<string[]> {
  const days: string[] = [];
  let cursor: string | undefined;
  do {
    const list = await bucket.list({ prefix: queuePrefix(queue), delimiter: "/", cursor });
    for (const p of list.delimitedPrefixes) days.push(p.slice(queuePrefix(queue).length, -1));
    cursor = list.truncated ? list.cursor : undefined;
  } while (cursor);
  return days.sort();
}
