import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import "../src/index";
import { archiveDayTables, archiveTableEnd, archiveTableFor, ensureArchiveTable } from "../src/db/archive-days";
import { writeArchiveFlush, type ArchivedJob } from "../src/db/archive";
import type { JobRow } from "../src/db/schema";
import { eventOutbox } from "../src/events/publisher";
import { readHistory } from "../src/maintenance/history-archive";
import { PURGE_BATCH, purgeFinishedJobs } from "../src/maintenance/retention";
import { finishedJobRow } from "./archive-helpers";
import { api, uniqueQueue } from "./helpers";

const DAY = 86_400_000;
let seq = 1_000_000;

/** A job that finished at `at` (created a second before). */
function finishedJob(queue: string, i: number, at: number, over: Partial<JobRow> = {}): JobRow {
  return finishedJobRow(queue, i, at - 1000, { updatedAt: at, completedAt: at, ...over });
}

/** Archives jobs as a queue's object does, flushed `daysAgo` days ago (into that day's table). */
async function archive(queue: string, daysAgo: number, jobs: ArchivedJob[]) {
  await writeArchiveFlush(env, { queue, seq: ++seq, at: Date.now() - daysAgo * DAY, jobs, events: [] }, eventOutbox);
}

const plainJobs = (queue: string, n: number, daysAgo: number, from = 0): ArchivedJob[] =>
  Array.from({ length: n }, (_, i) => ({ job: finishedJob(queue, from + i, Date.now() - daysAgo * DAY), attempts: [], logs: [] }));

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(...params).first<{ n: number }>())!.n;
const archivedCount = async (queue: string, status = "completed") =>
  (await env.DB.prepare(`SELECT n FROM job_counts WHERE queue = ?1 AND status = ?2`).bind(queue, status).first<{ n: number }>())?.n ?? 0;
const withoutBucket = () => ({ ...env, ARCHIVE_BUCKET: undefined }) as Env;

describe("archive day tables", () => {
  it("names a table by the UTC day of the flush and knows when that day ends", () => {
    const at = Date.parse("2026-12-03T23:59:59.999Z");
    expect(archiveTableFor(at)).toBe("jobs_d20261203");
    expect(archiveTableFor(at + 1)).toBe("jobs_d20261204");
    expect(archiveTableEnd("jobs_d20261203")).toBe(Date.parse("2026-12-04T00:00:00Z"));
    expect(archiveTableEnd("jobs_legacy")).toBeNull();
  });

  it("creates the tables of several days at once, each in the `jobs` view, whichever change commits first", async () => {
    const days = [101, 102, 103, 104, 105];
    const tables = await Promise.all(days.map((d) => ensureArchiveTable(env, Date.now() - d * DAY)));
    const existing = await archiveDayTables(env);
    for (const t of tables) expect(existing).toContain(t);
    const queue = uniqueQueue("many-days");
    for (const [i, d] of days.entries()) await archive(queue, d, plainJobs(queue, 1, d, i));
    expect(await count(`jobs WHERE queue = ?1`, queue)).toBe(days.length);
    // Lists merge the day tables newest first.
    const list = await api(`/jobs?queue=${queue}&limit=3`);
    expect(list.json.jobs.map((j: { id: string }) => j.id)).toEqual([0, 1, 2].map((i) => `job_${queue}_${String(i).padStart(5, "0")}`));
    expect(list.json.totalCount).toBe(days.length);
  });

  it("drops a day whole once it is past retention: its counts and rows that belong to its jobs go with it, later days stay", async () => {
    const queue = uniqueQueue("drop");
    const n = 400;
    await archive(queue, 45, plainJobs(queue, n, 45));
    const retried = finishedJob(queue, n, Date.now() - 45 * DAY, { attempt: 2, status: "failed", error: "boom" });
    const attempts = [1, 2].map((attempt) => ({ jobId: retried.id, attempt, status: "failed" as const, startedAt: 1, completedAt: 2, durationMs: 1, error: "boom", retryAt: null }));
    await archive(queue, 45, [{ job: retried, attempts, logs: [{ attempt: 2, level: "Info", message: "hi", details: null, stepName: null, createdAt: 1 }] }]);
    await env.DB.prepare(`INSERT INTO http_job_definitions (job_id, type_name, url, callback_timeout_ms, credentials) VALUES (?1, 't', 'http://x', 1000, '{}')`)
      .bind(retried.id)
      .run();
    await archive(queue, 20, plainJobs(queue, 3, 20, n + 1));
    expect(await archivedCount(queue)).toBe(n + 3);
    expect(await archivedCount(queue, "failed")).toBe(1);
    const old = archiveTableFor(Date.now() - 45 * DAY);

    const purge = await purgeFinishedJobs(withoutBucket(), Date.now() - 30 * DAY, 20);
    expect(purge.more).toBe(false);
    expect(purge.deleted).toBeGreaterThanOrEqual(n + 1);
    expect(await archiveDayTables(env)).not.toContain(old);
    expect(await archiveDayTables(env)).toContain(archiveTableFor(Date.now() - 20 * DAY));
    expect(await count(`jobs WHERE queue = ?1`, queue)).toBe(3);
    expect(await archivedCount(queue)).toBe(3);
    expect(await archivedCount(queue, "failed")).toBe(0);
    for (const child of ["job_attempts", "job_log_pages", "http_job_definitions"]) expect(await count(`${child} WHERE job_id = ?1`, retried.id)).toBe(0);
    // A dropped day costs a few rows (the view, its trigger, the counters, the child rows), not one per job.
    console.log(`rows written to drop a day of ${n + 1} jobs: ${purge.rowsWritten}`);
    expect(purge.rowsWritten / (n + 1)).toBeLessThan(0.1);
    // Today's table is not touched and new flushes still land.
    await archive(queue, 0, plainJobs(queue, 1, 0, n + 10));
    expect(await count(`jobs WHERE queue = ?1`, queue)).toBe(4);
  });

  it("copies an expired day to R2 a page per round, across runs, before dropping it", async () => {
    const queue = uniqueQueue("day-r2");
    const n = PURGE_BATCH * 2 + 50;
    for (let from = 0; from < n; from += PURGE_BATCH) await archive(queue, 60, plainJobs(queue, Math.min(PURGE_BATCH, n - from), 60, from));
    const table = archiveTableFor(Date.now() - 60 * DAY);
    const cutoff = Date.now() - 50 * DAY;

    const first = await purgeFinishedJobs(env, cutoff, 1);
    expect(first).toMatchObject({ deleted: 0, more: true });
    expect(await archiveDayTables(env)).toContain(table);
    for (let run = 0; run < 5 && (await purgeFinishedJobs(env, cutoff, 2)).more; run++);
    expect(await archiveDayTables(env)).not.toContain(table);
    expect(await count(`archive_day_exports WHERE name = ?1`, table)).toBe(0);
    const day = new Date(Date.now() - 60 * DAY).toISOString().slice(0, 10);
    const history = await readHistory(env.ARCHIVE_BUCKET!, queue, day);
    expect(new Set(history.map((r) => r.job.id)).size).toBe(n);
    expect(history.every((r) => r.job.status === "completed")).toBe(true);
  });
});
