import type { AttemptRow, JobRow, LogRow } from "../db/schema";
import type { JobFilter } from "../db/jobs";
import type { AttemptLogLine, Change, HeldJob } from "./live-store";
import type { LiveJobDetail } from "./live-protocol";

/** A job the object holds: live (pending, running) or ended and waiting for the flush to D1. */
export type LiveJob = {
  row: JobRow;
  /** History rows of the attempts made while the object held the job. */
  attempts: AttemptRow[];
  logs: AttemptLogLine[];
  /** The handler of the current (running) attempt started: an expired lease then counts as a retry. */
  handlerStarted: boolean;
  /** Order of arrival in this object (first in, first out among equals). */
  arrival: number;
  /**
   * Created here and never archived, so D1 holds no row of it and its flush need not look for one.
   * A revived or imported job (and one stored before this was kept) may have a row there.
   */
  fresh: boolean;
};

export function newLiveJob(row: JobRow, arrival: number): LiveJob {
  return { row, attempts: [], logs: [], handlerStarted: false, arrival, fresh: true };
}

/** A held job as a snapshot, revive or import segment stores it, and back. */
export function heldOf(job: LiveJob): HeldJob {
  return { row: job.row, attempts: job.attempts, logs: job.logs, started: job.handlerStarted, ...(job.fresh ? { fresh: true as const } : {}) };
}

export function fromHeld(held: HeldJob, arrival: number): LiveJob {
  return { row: held.row, attempts: [...held.attempts], logs: [...held.logs], handlerStarted: held.started, arrival, fresh: held.fresh === true };
}

/** Applies one journaled change; the same function serves the live path and the rebuild, so both agree. */
export function applyChange(job: LiveJob, change: Change): void {
  if (change.set) {
    const claimed = change.set.status === "running" && change.set.attempt !== undefined && change.set.attempt !== job.row.attempt;
    job.row = { ...job.row, ...change.set };
    if (claimed) job.handlerStarted = false;
  }
  if (change.att) {
    const i = job.attempts.findIndex((a) => a.attempt === change.att!.attempt);
    if (i >= 0) job.attempts[i] = change.att;
    else job.attempts.push(change.att);
  }
  if (change.logs?.length) job.logs.push(...change.logs);
}

/** The job as `get` returns it: row, history rows, log rows (numbered in order). */
export function detailOf(job: LiveJob): LiveJobDetail {
  const logs: LogRow[] = job.logs.map((l, i) => ({
    id: i + 1,
    jobId: job.row.id,
    attempt: l.attempt,
    level: l.level,
    message: l.message,
    details: l.details,
    stepName: l.stepName,
    createdAt: l.createdAt,
  }));
  return { job: { ...job.row }, attempts: [...job.attempts].sort((a, b) => a.attempt - b.attempt), logs };
}

/** The list filter as D1's `jobFilterSql` applies it (name search is case-insensitive, like SQLite's LIKE for ASCII). */
export function matchesFilter(row: JobRow, f: JobFilter): boolean {
  if (f.status && row.status !== f.status) return false;
  if (f.type && row.type !== f.type) return false;
  if (f.queue && row.queue !== f.queue) return false;
  if (f.recurringId && row.recurringId !== f.recurringId) return false;
  if (f.from != null && row.createdAt < f.from) return false;
  if (f.to != null && row.createdAt > f.to) return false;
  if (f.search && row.id !== f.search && !row.name.toLowerCase().includes(f.search.toLowerCase())) return false;
  return true;
}

/** The fields of `next` that differ from `prev`. */
export function changedFields(prev: JobRow, next: JobRow): Partial<JobRow> {
  const out: Partial<JobRow> = {};
  for (const k of Object.keys(next) as (keyof JobRow)[]) if (prev[k] !== next[k]) (out as Record<string, unknown>)[k] = next[k];
  return out;
}
