import type { AttemptRow, JobRow } from "../db/schema";
import type { DomainEvent } from "../model/events";
import type { ArchiveFlushInput, LiveLogLine } from "./live-protocol";

/** A log line of one attempt, as the object keeps it until the job is archived. */
export type AttemptLogLine = LiveLogLine & { attempt: number };

/**
 * One job's change in a journal group. Applying the changes of every entry in seq order to the
 * rows of the segments rebuilds the live jobs exactly (see applyChange in live-jobs.ts).
 */
export type Change = {
  id: string;
  /** Fields of the job row that change. */
  set?: Partial<JobRow>;
  /** An attempt's history row, added or replaced by its attempt number. */
  att?: AttemptRow;
  /** Log lines of an attempt that ended. */
  logs?: AttemptLogLine[];
  /** The handler of the current attempt started. */
  started?: true;
};

/** A flush as journaled before it is sent: a replay after a crash re-sends exactly this. */
export type FlushEntry = ArchiveFlushInput & { /** Lifecycle events of every row up to this seq are in `events`. */ through: number };

export type JournalEntry =
  /** A group of job changes, with the lifecycle events it raised (written to D1 by a later flush). */
  | { c: Change[]; ev?: DomainEvent[] }
  /** Jobs that left the object (archived or removed); rows older than this that name them no longer do. */
  | { gone: string[] }
  | { flush: FlushEntry };

/** What a segment holds: the new jobs' rows, or (legacy import) rows with their history. */
export type SegmentData = JobRow[] | { legacy: true; jobs: JobRow[]; attempts: AttemptRow[]; started: [string, number][] };

export type StoredEntry = { seq: number; segment: SegmentData } | { seq: number; journal: JournalEntry };

/** What compaction needs to know of a stored row. */
type RowInfo = { ids: string[]; events: boolean; tomb: boolean; flush: boolean; table: "segments" | "journal" };

export const LIVE_STORE_MIGRATION = [
  `CREATE TABLE segments (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)`,
  `CREATE TABLE journal (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)`,
  // Recurring slots created in the last day, so a repeated fire of the same occurrence is skipped
  // even after the job was archived and its segment compacted.
  `CREATE TABLE recurring_slots (slot TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID`,
];

function idsOf(entry: StoredEntry): string[] {
  if ("segment" in entry) return (Array.isArray(entry.segment) ? entry.segment : entry.segment.jobs).map((j) => j.id);
  const j = entry.journal;
  if ("c" in j) return [...new Set(j.c.map((c) => c.id))];
  if ("gone" in j) return j.gone;
  return j.flush.jobs.map((a) => a.job.id);
}

function infoOf(entry: StoredEntry): RowInfo {
  const j = "journal" in entry ? entry.journal : null;
  return {
    ids: idsOf(entry),
    events: !!j && "c" in j && !!j.ev?.length,
    tomb: !!j && "gone" in j,
    flush: !!j && "flush" in j,
    table: "segment" in entry ? "segments" : "journal",
  };
}

/**
 * The packed, durable form of a queue's live jobs in the object's SQLite: one `segments` row per
 * create call and one `journal` row per group of changes, under one seq. Every write goes through
 * `write`, which counts the rows SQLite reports written (the billed unit). Callers write inside
 * the RPC, before any await, so the output gate holds the reply until the rows are durable.
 */
export class LiveStore {
  #sql: SqlStorage;
  #storage: DurableObjectStorage;
  #seq = 0;
  #rows = new Map<number, RowInfo>();
  #idRows = new Map<string, Set<number>>();
  /** Rows written (inserted, updated or deleted) since this instance started. */
  rowsWritten = 0;

  constructor(storage: DurableObjectStorage, sql: SqlStorage = storage.sql) {
    this.#storage = storage;
    this.#sql = sql;
  }

  /** Every stored row in seq order; indexes them for compaction. `floor`: a seq already used (kept in settings). */
  load(floor: number): StoredEntry[] {
    const out: StoredEntry[] = [];
    for (const r of this.#sql.exec(`SELECT seq, data FROM segments`)) out.push({ seq: Number(r.seq), segment: JSON.parse(String(r.data)) as SegmentData });
    for (const r of this.#sql.exec(`SELECT seq, data FROM journal`)) out.push({ seq: Number(r.seq), journal: JSON.parse(String(r.data)) as JournalEntry });
    out.sort((a, b) => a.seq - b.seq);
    this.#seq = Math.max(floor, out.at(-1)?.seq ?? 0);
    for (const e of out) this.#index(e.seq, infoOf(e));
    return out;
  }

  /** The last seq given out. */
  get seq(): number {
    return this.#seq;
  }

  /** Stored rows (segments and journal). */
  get rowCount(): number {
    return this.#rows.size;
  }

  write(query: string, ...params: unknown[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
    const cursor = this.#sql.exec(query, ...params);
    cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
    return cursor;
  }

  transaction<T>(fn: () => T): T {
    return this.#storage.transactionSync(fn);
  }

  appendSegment(segment: SegmentData): number {
    const seq = ++this.#seq;
    this.write(`INSERT INTO segments (seq, data) VALUES (?, ?)`, seq, JSON.stringify(segment));
    this.#index(seq, infoOf({ seq, segment }));
    return seq;
  }

  appendJournal(journal: JournalEntry): number {
    const seq = ++this.#seq;
    this.write(`INSERT INTO journal (seq, data) VALUES (?, ?)`, seq, JSON.stringify(journal));
    this.#index(seq, infoOf({ seq, journal }));
    return seq;
  }

  deleteRow(seq: number): void {
    const info = this.#rows.get(seq);
    if (!info) return;
    this.write(`DELETE FROM ${info.table} WHERE seq = ?`, seq);
    this.#rows.delete(seq);
    for (const id of info.ids) {
      const set = this.#idRows.get(id);
      set?.delete(seq);
      if (set && !set.size) this.#idRows.delete(id);
    }
  }

  /**
   * Deletes every row that no longer names a live job: a segment or change group once all its jobs
   * left (and its events were flushed: seq ≤ `eventsThrough`), a tombstone once no older row names
   * its jobs. `gone`: jobs that just left; a tombstone is written for those still named by a row
   * that stays. Call inside the transaction that records why they left.
   */
  compact(isLive: (id: string) => boolean, eventsThrough: number, gone: string[]): void {
    const dead = (ids: string[]) => ids.every((id) => !isLive(id));
    for (const [seq, info] of [...this.#rows]) {
      if (info.tomb || info.flush) continue;
      if (dead(info.ids) && (!info.events || seq <= eventsThrough)) this.deleteRow(seq);
    }
    const named = (id: string) => [...(this.#idRows.get(id) ?? [])].some((s) => !this.#rows.get(s)!.tomb);
    for (const [seq, info] of [...this.#rows]) {
      if (info.tomb && !info.ids.some((id) => !isLive(id) && named(id))) this.deleteRow(seq);
    }
    const needed = gone.filter((id) => !isLive(id) && named(id));
    if (needed.length) this.appendJournal({ gone: needed });
  }

  #index(seq: number, info: RowInfo) {
    this.#rows.set(seq, info);
    for (const id of info.ids) {
      const set = this.#idRows.get(id) ?? new Set<number>();
      set.add(seq);
      this.#idRows.set(id, set);
    }
  }
}
