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
};

/** A flush as journaled before it is sent: a replay after a crash re-sends exactly this. */
export type FlushEntry = ArchiveFlushInput & { /** Lifecycle events of every row up to this seq are in `events`. */ through: number };

export type JournalEntry =
  /** A group of job changes, with the lifecycle events it raised (written to D1 by a later flush). */
  | { c: Change[]; ev?: DomainEvent[] }
  /**
   * Jobs that left the object: removed, or archived by the flush `flushed` (which is then done;
   * its events, and those of every row up to `through`, are in D1).
   */
  | { gone: string[]; flushed?: number; through?: number }
  | { flush: FlushEntry };

/** A job with everything the object holds of it (a revived or imported job, or a snapshot). */
export type HeldJob = { row: JobRow; attempts: AttemptRow[]; logs: AttemptLogLine[]; started: boolean; /** See LiveJob.fresh; absent means it may have a row in D1. */ fresh?: true };

/** What a segment holds: the rows of new jobs, or whole held jobs (a snapshot, a revive, an import). */
export type SegmentData = JobRow[] | { held: HeldJob[] };

export type StoredEntry = { seq: number; segment: SegmentData } | { seq: number; journal: JournalEntry };

/** Object-level tables besides the live log (the log's tables are made per generation). */
export const LIVE_STORE_MIGRATION = [
  // Recurring slots created in the last day, so a repeated fire of the same occurrence is skipped
  // even after the job was archived and its rows dropped.
  `CREATE TABLE recurring_slots (slot TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID`,
];

const TABLE_PREFIX = "live_";
/** Held jobs per snapshot row (and at most SNAPSHOT_ROW_BYTES), well under the 2 MB row limit. */
const SNAPSHOT_ROW_JOBS = 200;
const SNAPSHOT_ROW_BYTES = 1_000_000;
/** A generation is replaced once it has this many rows, or several times the rows its snapshot takes. */
const MIN_ROTATE_ROWS = 64;
const ROTATE_FACTOR = 4;

/**
 * An entry longer than this (JSON characters) is stored as several rows, the leading ones of kind
 * 'p' (part): a row holds at most 2 MB, and a character takes up to 3 bytes in UTF-8.
 */
const MAX_ROW_CHARS = 600_000;

const tableOf = (gen: number) => `${TABLE_PREFIX}${gen}`;

/**
 * The packed, durable form of a queue's live jobs in the object's SQLite: one row per create call
 * (a segment) and one per group of changes (a journal entry), under one increasing seq, in the
 * table of the current generation (`live_<n>`: seq, kind 's' or 'j', data).
 *
 * Rows are never deleted one by one: every deleted row is a billed row written, so a job would
 * pay for each of its rows twice. Instead, once a flush has archived jobs and the generation has
 * grown, `rotate` writes what is still held as a few snapshot rows into a new generation and
 * drops the old table whole (a DROP TABLE writes no rows), in one transaction.
 *
 * Every write goes through `write`, which counts the rows SQLite reports written. Callers write
 * inside the RPC, before any await, so the output gate holds the reply until the rows are durable.
 */
export class LiveStore {
  #sql: SqlStorage;
  #storage: DurableObjectStorage;
  #seq = 0;
  #gen = 0;
  /** Rows in the current generation. */
  #rows = 0;
  #inTransaction = false;
  /** Rows written (inserted, updated or deleted) since this instance started. */
  rowsWritten = 0;

  constructor(storage: DurableObjectStorage, sql: SqlStorage = storage.sql) {
    this.#storage = storage;
    this.#sql = sql;
  }

  /** Every stored row in seq order. `floor`: the last seq known used (kept in settings at each rotation). */
  load(floor: number): StoredEntry[] {
    const gens = this.#generations();
    const rows: { seq: number; kind: string; data: string }[] = [];
    for (const g of gens) {
      for (const r of this.#sql.exec(`SELECT seq, kind, data FROM ${tableOf(g)}`)) rows.push({ seq: Number(r.seq), kind: String(r.kind), data: String(r.data) });
    }
    rows.sort((a, b) => a.seq - b.seq);
    const out: StoredEntry[] = [];
    let parts = "";
    for (const r of rows) {
      if (r.kind === "p") {
        parts += r.data;
        continue;
      }
      const data = JSON.parse(parts + r.data) as unknown;
      parts = "";
      out.push(r.kind === "s" ? { seq: r.seq, segment: data as SegmentData } : { seq: r.seq, journal: data as JournalEntry });
    }
    this.#gen = gens.at(-1) ?? 1;
    this.#rows = rows.length;
    this.#seq = Math.max(floor, rows.at(-1)?.seq ?? 0);
    this.#ensureTable();
    return out;
  }

  /** The last seq given out. */
  get seq(): number {
    return this.#seq;
  }

  /** Rows stored now (all generations). */
  get rowCount(): number {
    return this.#rows;
  }

  write(query: string, ...params: unknown[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
    const cursor = this.#sql.exec(query, ...params);
    cursor.toArray();
    this.rowsWritten += cursor.rowsWritten;
    return cursor;
  }

  /** Runs `fn` in one storage transaction (joining the one in progress, if any). */
  transaction<T>(fn: () => T): T {
    if (this.#inTransaction) return fn();
    this.#inTransaction = true;
    try {
      return this.#storage.transactionSync(fn);
    } finally {
      this.#inTransaction = false;
    }
  }

  appendSegment(segment: SegmentData): number {
    return this.#append("s", segment);
  }

  appendJournal(journal: JournalEntry): number {
    return this.#append("j", journal);
  }

  /** A journal entry already encoded as JSON (see flushJournalJson). */
  appendJournalJson(json: string): number {
    return this.#appendJson("j", json);
  }

  /**
   * Whether the generation has grown enough to be replaced, for what its snapshot takes: `held`
   * jobs and `events` lifecycle events not yet flushed (a rotation rewrites both).
   */
  shouldRotate(held: number, events: number): boolean {
    const snapshotRows = Math.ceil(held / SNAPSHOT_ROW_JOBS) + Math.ceil(events / SNAPSHOT_ROW_JOBS);
    return snapshotRows === 0 ? this.#rows > 0 : this.#rows >= Math.max(MIN_ROTATE_ROWS, ROTATE_FACTOR * snapshotRows);
  }

  /**
   * Starts a new generation holding only `held` (as snapshot segments) and `events` (lifecycle
   * events not yet flushed, as journal entries of at most SNAPSHOT_ROW_JOBS), and drops every
   * older one. Returns the seq each event is now stored under. Call inside a transaction.
   */
  rotate(held: HeldJob[], events: DomainEvent[]): number[] {
    const old = this.#gen;
    this.#gen = old + 1;
    this.#rows = 0;
    this.#ensureTable();
    // Each job is encoded once, for its size and for its row: a row is `{ held: chunk }` as JSON.
    const writeChunk = (parts: string[]) => this.#appendJson("s", `{"held":[${parts.join(",")}]}`);
    let chunk: string[] = [];
    let bytes = 0;
    for (const job of held) {
      const json = JSON.stringify(job);
      if (chunk.length && (chunk.length >= SNAPSHOT_ROW_JOBS || bytes + json.length > SNAPSHOT_ROW_BYTES)) {
        writeChunk(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(json);
      bytes += json.length;
    }
    if (chunk.length) writeChunk(chunk);
    const seqs: number[] = [];
    for (let i = 0; i < events.length; i += SNAPSHOT_ROW_JOBS) {
      const part = events.slice(i, i + SNAPSHOT_ROW_JOBS);
      const seq = this.appendJournal({ c: [], ev: part });
      for (const _ of part) seqs.push(seq);
    }
    for (const g of this.#generations()) if (g !== this.#gen) this.write(`DROP TABLE ${tableOf(g)}`);
    return seqs;
  }

  /** Appends one entry (as several rows if it is long); returns its seq (its last row's). */
  #append(kind: "s" | "j", data: unknown): number {
    return this.#appendJson(kind, JSON.stringify(data));
  }

  #appendJson(kind: "s" | "j", json: string): number {
    const pieces: string[] = [];
    for (let i = 0; i < json.length; ) {
      let end = Math.min(json.length, i + MAX_ROW_CHARS);
      // Never between the two halves of a surrogate pair: each piece must be valid UTF-16 on its own.
      const last = json.charCodeAt(end - 1);
      if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--;
      pieces.push(json.slice(i, end));
      i = end;
    }
    const insert = `INSERT INTO ${tableOf(this.#gen)} (seq, kind, data) VALUES (?, ?, ?)`;
    const append = () => {
      pieces.forEach((piece, i) => {
        this.write(insert, ++this.#seq, i === pieces.length - 1 ? kind : "p", piece);
        this.#rows++;
      });
      return this.#seq;
    };
    // A single INSERT is atomic by itself; the pieces of a long entry must land together.
    return pieces.length === 1 ? append() : this.transaction(append);
  }

  /** The generations whose tables exist, oldest first. */
  #generations(): number[] {
    return this.#sql
      .exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '${TABLE_PREFIX}%'`)
      .toArray()
      .map((r) => Number(String(r.name).slice(TABLE_PREFIX.length)))
      .filter((g) => Number.isInteger(g) && g > 0)
      .sort((a, b) => a - b);
  }

  #ensureTable() {
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS ${tableOf(this.#gen)} (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL)`);
  }
}
