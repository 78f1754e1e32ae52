import { z } from "zod";
import type { LogRow } from "./schema";

/**
 * Log lines of archived attempts are stored packed: one `job_log_pages` row per job attempt and
 * page (a JSON array of lines), so a job's logs cost a written row per attempt, not a row and an
 * index entry per line. Pages keep a row well under D1's row size limit.
 */
export const LOG_PAGE_BYTES = 64_000;

type Line = { attempt: number; level: string; message: string; details: string | null; stepName: string | null; createdAt: number };
export type LogPage = { jobId: string; attempt: number; page: number; lines: string };

const PackedLine = z.object({ level: z.string(), message: z.string(), details: z.string().nullable(), stepName: z.string().nullable(), createdAt: z.number() });
const PageRow = z.object({ job_id: z.string(), attempt: z.number(), page: z.number(), lines: z.string() });
const LegacyRow = z.object({
  id: z.number(),
  job_id: z.string(),
  attempt: z.number(),
  level: z.string(),
  message: z.string(),
  details: z.string().nullable(),
  step_name: z.string().nullable(),
  created_at: z.number(),
});

/** A job's lines grouped by attempt, in order, as pages of at most LOG_PAGE_BYTES of JSON. */
export function packLogPages(jobId: string, lines: Line[]): LogPage[] {
  const byAttempt = new Map<number, string[]>();
  for (const l of lines) {
    const list = byAttempt.get(l.attempt) ?? [];
    list.push(JSON.stringify({ level: l.level, message: l.message, details: l.details, stepName: l.stepName, createdAt: l.createdAt }));
    byAttempt.set(l.attempt, list);
  }
  const pages: LogPage[] = [];
  for (const [attempt, encoded] of byAttempt) {
    let current: string[] = [];
    let size = 0;
    const close = () => {
      pages.push({ jobId, attempt, page: pages.filter((p) => p.attempt === attempt).length, lines: `[${current.join(",")}]` });
      current = [];
      size = 0;
    };
    for (const s of encoded) {
      if (current.length && size + s.length > LOG_PAGE_BYTES) close();
      current.push(s);
      size += s.length + 1;
    }
    if (current.length) close();
  }
  return pages;
}

/**
 * Ids of packed lines are made from their place (attempt, page, line), so they are stable across
 * reads and order like the lines; lines the old engine wrote (`job_logs`) keep their row ids.
 */
export const packedLineId = (attempt: number, page: number, index: number) => (attempt * 1_000 + page) * 100_000 + index + 1;

/**
 * A finished job's log lines in the API's row shape, oldest first: lines the old engine wrote one
 * row each, then the packed pages of later attempts. At most `limit` lines.
 */
export async function readArchivedJobLogs(env: Env, jobId: string, limit = 1000): Promise<LogRow[]> {
  return ((await readArchivedLogsOf(env, [jobId])).get(jobId) ?? []).slice(0, limit);
}

/** The log lines of many finished jobs (as readArchivedJobLogs), by job id; jobs without lines are absent. */
export async function readArchivedLogsOf(env: Env, jobIds: string[]): Promise<Map<string, LogRow[]>> {
  const ids = JSON.stringify(jobIds);
  const [legacy, pages] = await env.DB.batch([
    env.DB.prepare(`SELECT * FROM job_logs WHERE job_id IN (SELECT value FROM json_each(?1)) ORDER BY job_id, id`).bind(ids),
    env.DB.prepare(`SELECT job_id, attempt, page, lines FROM job_log_pages WHERE job_id IN (SELECT value FROM json_each(?1)) ORDER BY job_id, attempt, page`).bind(ids),
  ]);
  const out = new Map<string, LogRow[]>();
  const add = (row: LogRow) => out.set(row.jobId, [...(out.get(row.jobId) ?? []), row]);
  for (const r of legacy.results) {
    const l = LegacyRow.parse(r);
    add({ id: l.id, jobId: l.job_id, attempt: l.attempt, level: l.level, message: l.message, details: l.details, stepName: l.step_name, createdAt: l.created_at });
  }
  for (const raw of pages.results) {
    const p = PageRow.parse(raw);
    const lines = z.array(PackedLine).parse(JSON.parse(p.lines));
    lines.forEach((l, i) => add({ id: packedLineId(p.attempt, p.page, i), jobId: p.job_id, attempt: p.attempt, ...l }));
  }
  return out;
}
