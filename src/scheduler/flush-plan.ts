import { eventJson, type DomainEvent } from "../model/events";
import type { ArchivedJob } from "./live-protocol";
import type { FlushEntry } from "./live-store";
import type { LiveJob } from "./live-jobs";

/** Most ended jobs one flush carries. */
export const ARCHIVE_FLUSH_JOBS = 500;
/**
 * Most lifecycle events one flush carries. A job raises about three (created, started, ended): a
 * flush that took no more events than jobs would leave two of every three behind, and under a
 * steady load the waiting events (held in memory and rewritten by every rotation) would grow
 * without end.
 */
export const ARCHIVE_FLUSH_EVENTS = 3 * ARCHIVE_FLUSH_JOBS;
/** Bounds one flush's content (its D1 batch and its journal entry). */
export const FLUSH_MAX_BYTES = 1_000_000;

/** A lifecycle event waiting for the flush, with the seq of the journal entry that holds it. */
export type WaitingEvent = { seq: number; event: DomainEvent };

export type FlushPlan = {
  jobs: ArchivedJob[];
  /** Each of `jobs` as JSON (encoded to measure it, and reused for the journal row). */
  jobsJson: string[];
  /** Ids of those jobs that may already have a row in D1 (see LiveJob.fresh). */
  maybeArchived: string[];
  events: DomainEvent[];
  /** How many of the waiting events (from the front) the flush takes. */
  eventsTaken: number;
  /** Every event of entries up to this seq is in this flush or an earlier one. */
  through: number;
};

/**
 * What the next flush carries: ended jobs in the order they ended, then waiting events by whole
 * journal entries, oldest first (so "every event of entries up to `through`" is exact), within
 * ARCHIVE_FLUSH_JOBS and FLUSH_MAX_BYTES (the first entry's events always go, so it progresses).
 */
export function planFlush(finished: Iterable<LiveJob>, events: readonly WaitingEvent[], lastSeq: number): FlushPlan {
  const jobs: ArchivedJob[] = [];
  const jobsJson: string[] = [];
  const maybeArchived: string[] = [];
  let bytes = 0;
  for (const job of finished) {
    if (jobs.length >= ARCHIVE_FLUSH_JOBS || bytes > FLUSH_MAX_BYTES) break;
    const archived = { job: { ...job.row }, attempts: [...job.attempts], logs: job.logs.map((l) => ({ ...l })) };
    const json = JSON.stringify(archived);
    bytes += json.length;
    jobs.push(archived);
    jobsJson.push(json);
    if (!job.fresh) maybeArchived.push(job.row.id);
  }
  let taken = 0;
  while (taken < events.length && (taken === 0 || (bytes < FLUSH_MAX_BYTES && taken < ARCHIVE_FLUSH_EVENTS))) {
    const seq = events[taken].seq;
    while (taken < events.length && events[taken].seq === seq) bytes += eventJson(events[taken++].event).length;
  }
  const through = taken < events.length ? events[taken - 1].seq : lastSeq;
  return { jobs, jobsJson, maybeArchived, events: events.slice(0, taken).map((e) => e.event), eventsTaken: taken, through };
}

/**
 * The journal row of a flush, `{ flush: entry }` as JSON, from its jobs as planFlush encoded them
 * and its events as encoded once: a flush is about 1 MB, and encoding it again was a good part of
 * the object's work per job.
 */
export function flushJournalJson(entry: FlushEntry, jobsJson: string[]): string {
  const { queue, seq, at, maybeArchived, events, through } = entry;
  return `{"flush":{"queue":${JSON.stringify(queue)},"seq":${seq},"at":${at},"jobs":[${jobsJson.join(",")}],${maybeArchived === undefined ? "" : `"maybeArchived":${JSON.stringify(maybeArchived)},`}"events":[${events.map(eventJson).join(",")}],"through":${through}}}`;
}
