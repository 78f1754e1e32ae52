import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { LEFT_LIVE_TERM } from "../db/archive";
import { getDb } from "../db/client";
import { jobFilterSql, type JobFilter } from "../db/jobs";
import { JobRowSchema } from "../db/job-row";
import { readArchivedJobLogs } from "../db/log-pages";
import { jobAttempts, jobs, type AttemptRow, type JobRow, type LogRow } from "../db/schema";
import { isTerminalStatus, JOB_STATUSES, newestFirst, singleAttemptOf, TERMINAL_STATUSES } from "../model/job";
import { findLiveJobs, getLiveJobs, listLiveJobs } from "../scheduler/client";
import { knownQueueNames, queueTagOf } from "../scheduler/job-ids";
import type { LiveJobDetail } from "../scheduler/live-protocol";

/**
 * Every read of jobs goes through here. A queue's scheduler holds its live jobs (pending, waiting
 * for a retry, running, and finished ones not yet flushed); D1 `jobs` holds the archive of
 * finished ones. A job both live and in D1 (re-run after it was archived, or a row the previous
 * engine left pending or running) is shown as the scheduler has it.
 */

export type JobWithAttempts = { job: JobRow; attempts: AttemptRow[] };
export type JobPage = { rows: JobRow[]; totalCount: number };

/** Most live rows one list asks each scheduler for (the `list` RPC's bound). */
export const LIVE_LIST_MAX = 10_000;
/** Log lines returned for one job. */
export const MAX_LOG_LINES = 1000;

const LIVE_STATUSES = ["pending", "running"] as const;

// ---- by id

/** The job as it is now: the scheduler's copy while live, else its archived row. */
export async function getJob(env: Env, id: string): Promise<JobRow | undefined> {
  const { live, archived } = await readBoth(env, id, () => archivedJob(env, id));
  return live?.job ?? archived;
}

/** Jobs by id, in the order given; unknown ids are left out. */
export async function getJobs(env: Env, ids: string[]): Promise<JobRow[]> {
  const unique = [...new Set(ids)];
  if (!unique.length) return [];
  const live = await findLiveJobs(env, unique);
  const rest = unique.filter((id) => !live.has(id));
  const archived = new Map((await archivedJobs(env, rest)).map((r) => [r.id, r]));
  return unique.map((id) => live.get(id)?.job ?? archived.get(id)).filter((r): r is JobRow => !!r);
}

/**
 * The job with its attempts. A job archived after a single attempt has no attempt row: that
 * attempt is read from the job's own row. A live job that was archived before (a re-run) shows its
 * archived attempts before the live ones.
 */
export async function getJobWithAttempts(env: Env, id: string): Promise<JobWithAttempts | null> {
  const { live, archived } = await readBoth(env, id, () => archivedJobWithAttempts(env, id));
  if (!live) return archived ?? null;
  const liveNumbers = new Set(live.attempts.map((a) => a.attempt));
  const earlier = (archived?.attempts ?? []).filter((a) => !liveNumbers.has(a.attempt));
  return { job: live.job, attempts: [...earlier, ...live.attempts].sort((a, b) => a.attempt - b.attempt) };
}

/**
 * The job and its log lines, oldest first (at most `limit`), or null for an unknown job. A re-run
 * job shows its archived attempts' lines before the live ones.
 */
export async function getJobAndLogs(env: Env, id: string, limit = MAX_LOG_LINES): Promise<{ job: JobRow; logs: LogRow[] } | null> {
  const read = () => Promise.all([archivedJob(env, id), readArchivedJobLogs(env, id, limit)]);
  const { live, archived } = await readBoth(env, id, async () => {
    const [job, logs] = await read();
    return job && { job, logs };
  });
  if (!live) return archived ?? null;
  const liveAttempts = new Set(live.logs.map((l) => l.attempt));
  const earlier = (archived?.logs ?? []).filter((l) => !liveAttempts.has(l.attempt));
  return { job: live.job, logs: [...earlier, ...live.logs].slice(0, limit) };
}

/** Where the job is: its live copy (if its scheduler holds it) and its archived row (if it has one). */
export async function locateJob(env: Env, id: string): Promise<{ live?: LiveJobDetail; archived?: JobRow }> {
  return readBoth(env, id, () => archivedJob(env, id));
}

/** The live copy of a job, from the scheduler(s) its id may belong to. */
export async function findLive(env: Env, id: string): Promise<LiveJobDetail | undefined> {
  return (await findLiveJobs(env, [id])).get(id);
}

/**
 * The scheduler and D1 are read at once. A job archived between the two reads can be missed by
 * both (D1 read before its flush committed, the scheduler asked after it let the job go): the
 * scheduler lets a job go only after its archive row committed, so a second D1 read finds it.
 *
 * An id without a queue tag (older ids, compatibility ids) could be live in any queue: its
 * archived row, when there is one, names the queue to ask, so only ids never archived are asked
 * of every queue.
 */
async function readBoth<T extends { job: JobRow } | JobRow>(env: Env, id: string, readArchive: () => Promise<T | undefined>): Promise<{ live?: LiveJobDetail; archived?: T }> {
  if (queueTagOf(id) === null) {
    const archived = await readArchive();
    if (archived) {
      const queue = "job" in archived ? archived.job.queue : archived.queue;
      return { live: (await getLiveJobs(env, queue, [id])).jobs[0], archived };
    }
  }
  const [live, archived] = await Promise.all([findLive(env, id), readArchive()]);
  if (live || archived) return { live, archived };
  return { archived: await readArchive() };
}

// ---- the archive (D1)

export async function archivedJob(env: Env, id: string): Promise<JobRow | undefined> {
  return getDb(env).select().from(jobs).where(eq(jobs.id, id)).get();
}

async function archivedJobs(env: Env, ids: string[]): Promise<JobRow[]> {
  if (!ids.length) return [];
  return getDb(env).select().from(jobs).where(sql`${jobs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`).all();
}

async function archivedJobWithAttempts(env: Env, id: string): Promise<JobWithAttempts | undefined> {
  const db = getDb(env);
  const [found, attempts] = await db.batch([
    db.select().from(jobs).where(eq(jobs.id, id)),
    db.select().from(jobAttempts).where(eq(jobAttempts.jobId, id)).orderBy(asc(jobAttempts.attempt)),
  ]);
  const job = found[0];
  if (!job) return undefined;
  return { job, attempts: attempts.length ? attempts : singleAttemptOf(job) };
}

// ---- lists

/**
 * One page of the jobs matching `filter`, newest first: the schedulers' live jobs merged with the
 * archive. The live rows are read first, so a job archived meanwhile is found in D1, never lost
 * between the two. `totalCount` = live matches + archived matches (archived rows of live jobs
 * left out).
 *
 * Deep pages do not read every archived row before the offset: when all live matches were read,
 * at most `live.length` of them can come before the page, so the archive is read from
 * `offset - live.length` on.
 */
export async function listJobs(env: Env, filter: JobFilter, page: { limit: number; offset: number }): Promise<JobPage> {
  const end = page.offset + page.limit;
  const lists = await Promise.all((await queuesToAsk(env, filter)).map((q) => listLiveJobs(env, q, filter, Math.min(end, LIVE_LIST_MAX))));
  const live = lists.flatMap((l) => l.rows).sort(newestFirst);
  const liveTotal = lists.reduce((n, l) => n + l.total, 0);
  const complete = lists.every((l) => l.total <= l.rows.length);

  // With more live matches than were read (deeper than LIVE_LIST_MAX), positions past them are approximate.
  const skip = Math.max(0, page.offset - (complete ? live.length : liveTotal));
  const archive = await archivedPage(env, filter, live.map((r) => r.id), skip, end - skip);
  const first = archive.rows[0];
  // Live rows newer than the first archived row read all come before the page.
  const kept = skip === 0 ? live : first ? live.filter((r) => newestFirst(first, r) < 0) : [];
  const start = skip + (live.length - kept.length);
  const merged = mergeNewestFirst(kept, archive.rows);
  return { rows: merged.slice(page.offset - start, end - start), totalCount: liveTotal + archive.count };
}

/** Up to `limit` jobs matching the filter in any of `statuses`, newest first, and how many match in all. */
export async function listJobsInStatuses(env: Env, filter: JobFilter, statuses: readonly JobRow["status"][], limit: number): Promise<JobPage> {
  const wanted = filter.status ? statuses.filter((s) => s === filter.status) : statuses;
  const pages = await Promise.all(wanted.map((status) => listJobs(env, { ...filter, status }, { limit, offset: 0 })));
  return {
    rows: pages.flatMap((p) => p.rows).sort(newestFirst).slice(0, limit),
    totalCount: pages.reduce((n, p) => n + p.totalCount, 0),
  };
}

/** Every live job matching the filter (up to LIVE_LIST_MAX per queue), newest first. */
export async function listLive(env: Env, filter: JobFilter): Promise<JobPage> {
  const lists = await Promise.all((await queuesToAsk(env, filter)).map((q) => listLiveJobs(env, q, filter, LIVE_LIST_MAX)));
  return { rows: lists.flatMap((l) => l.rows).sort(newestFirst), totalCount: lists.reduce((n, l) => n + l.total, 0) };
}

/** The queues whose schedulers may hold matching jobs: the filtered one if it exists, else every known queue. */
export async function queuesToAsk(env: Env, filter: Pick<JobFilter, "queue">): Promise<string[]> {
  const known = await knownQueueNames(env);
  if (filter.queue === undefined) return known;
  if (known.includes(filter.queue)) return [filter.queue];
  // The isolate's list of names may be a few seconds old; a queue it misses is asked for in D1.
  const row = await env.DB.prepare(`SELECT 1 AS found FROM queues WHERE name = ?1`).bind(filter.queue).first();
  return row ? [filter.queue] : [];
}

function mergeNewestFirst(a: JobRow[], b: JobRow[]): JobRow[] {
  const out: JobRow[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && newestFirst(a[i], b[j]) <= 0)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

const CountRow = z.object({ n: z.number().int() });
const JobStatusSchema = z.enum(JOB_STATUSES);

/**
 * Archived rows matching the filter, newest first, from `offset`, leaving out `liveIds`, and how
 * many there are. A filter on status and/or queue only is counted from `job_counts` (finished
 * rows) plus the rows the previous engine left pending or running; any other filter is a COUNT.
 */
async function archivedPage(env: Env, filter: JobFilter, liveIds: string[], offset: number, limit: number): Promise<{ rows: JobRow[]; count: number }> {
  const live = JSON.stringify(liveIds);
  const notLive = liveIds.length ? sql`${jobs.id} NOT IN (SELECT value FROM json_each(${live}))` : undefined;
  const where = and(jobFilterSql(filter), statusLiteral(filter), notLive);
  const rowsSql = sql`SELECT * FROM jobs ${whereClause(where)} ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`;
  const db = getDb(env);
  const [rows, counted] = await Promise.all([
    limit > 0 ? db.all(rowsSql) : Promise.resolve([]),
    db.all(countSql(filter, where, live, liveIds.length > 0)),
  ]);
  return { rows: rows.map((r) => JobRowSchema.parse(r)), count: CountRow.parse(counted[0]).n };
}

function countSql(filter: JobFilter, where: SQL | undefined, live: string, hasLive: boolean): SQL {
  if (!countableByCounters(filter)) return sql`SELECT COUNT(*) AS n FROM jobs ${whereClause(where)}`;
  const terminal = filter.status ? (isTerminalStatus(filter.status) ? [filter.status] : []) : [...TERMINAL_STATUSES];
  const legacy = filter.status ? (isTerminalStatus(filter.status) ? [] : [filter.status]) : [...LIVE_STATUSES];
  const queue = filter.queue === undefined ? sql`` : sql` AND queue = ${filter.queue}`;
  const counted = terminal.length
    ? sql`(SELECT COALESCE(SUM(n), 0) FROM job_counts WHERE status IN (SELECT value FROM json_each(${JSON.stringify(terminal)}))${queue})`
    : sql`0`;
  // Archived rows of jobs that are live again are counted live, not here.
  const duplicates =
    terminal.length && hasLive
      ? sql`(SELECT COUNT(*) FROM jobs WHERE id IN (SELECT value FROM json_each(${live})) AND status IN (SELECT value FROM json_each(${JSON.stringify(terminal)}))${queue})`
      : sql`0`;
  // Written as the partial index of such rows (jobs_live) is, so the count walks that small index.
  const leftByOldEngine = legacy.length
    ? sql`(SELECT COUNT(*) FROM jobs WHERE ${legacy.length === 1 ? statusLiteral({ status: legacy[0] })! : sql.raw(LEFT_LIVE_TERM)}${queue}${
        hasLive ? sql` AND id NOT IN (SELECT value FROM json_each(${live}))` : sql``
      })`
    : sql`0`;
  return sql`SELECT ${counted} - ${duplicates} + ${leftByOldEngine} AS n`;
}

/**
 * The status filter written out as a literal too: SQLite uses a partial index (failed and cancelled
 * rows have one) only when the query's own terms imply its condition, which a bound value does not.
 */
export function statusLiteral(filter: Pick<JobFilter, "status">): SQL | undefined {
  if (!filter.status) return undefined;
  const status = JobStatusSchema.parse(filter.status);
  // Pending and running rows (left by the previous engine) have theirs as `status IN (...)`.
  return sql.raw(isTerminalStatus(status) ? `jobs.status = '${status}'` : `jobs.${LEFT_LIVE_TERM} AND jobs.status = '${status}'`);
}

function countableByCounters(f: JobFilter): boolean {
  return f.type === undefined && f.recurringId === undefined && f.from == null && f.to == null && f.search === undefined;
}

function whereClause(where: SQL | undefined): SQL {
  return where ? sql`WHERE ${where}` : sql``;
}
