import { z } from "zod";
import { envelope, TopicSchema, type Draft, type Published, type Stored } from "./messages";

/** How many of the latest messages a reconnecting subscriber can ask for with `since` / `Last-Event-ID`. */
export const REPLAY_LIMIT = 5_000;

export const REPLAY_BUFFER_SCHEMA = [
  `CREATE TABLE messages (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, queue TEXT, job_id TEXT, job_type TEXT, json TEXT NOT NULL)`,
  `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
];
/**
 * Messages are kept in chunks, one row per publish call: a batch of a hundred job events is one
 * written row (and one deleted later), not a hundred plus a counter. The latest seq is the newest
 * chunk's last, which pruning never removes.
 */
export const REPLAY_BUFFER_CHUNKS = [
  `CREATE TABLE message_chunks (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, messages TEXT NOT NULL)`,
  `INSERT INTO message_chunks (first_seq, last_seq, messages)
     SELECT seq, seq, json_array(json_object('seq', seq, 'topic', topic, 'queue', queue, 'jobId', job_id, 'jobType', job_type, 'json', json)) FROM messages`,
  `DROP TABLE messages`,
  `DROP TABLE counters`,
];
/** Each chunk's size, so the buffer can be bounded by bytes without reading it. */
export const REPLAY_BUFFER_BYTES = [
  `ALTER TABLE message_chunks ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0`,
  `UPDATE message_chunks SET bytes = length(messages)`,
];
/** A chunk stays well under SQLite's 2 MB row limit. */
const CHUNK_BYTES = 512 * 1024;
/**
 * The buffer also keeps at most this many bytes of messages (large job-log or progress payloads
 * would otherwise make REPLAY_LIMIT messages a lot of storage, and a replay a lot of reading).
 * Whole chunks go, oldest first; the newest chunk always stays.
 */
export const REPLAY_MAX_BYTES = 8 * 1024 * 1024;

const StoredSchema = z.object({ seq: z.number(), topic: TopicSchema, queue: z.string().nullable(), jobId: z.string().nullable(), jobType: z.string().nullable(), json: z.string() });
const ChunkSchema = z.string().transform((s) => JSON.parse(s) as unknown).pipe(z.array(StoredSchema));

export type Replay =
  | { kind: "ok"; messages: Stored[] }
  /** Some messages after `since` are gone (or `since` comes from another history): what is left, and the window. */
  | { kind: "gap"; messages: Stored[]; oldestSeq: number | null; latestSeq: number };

/**
 * Numbers messages with a monotonic `seq` and keeps the latest of them in the hub's SQLite: at most
 * REPLAY_LIMIT messages and about `maxBytes` bytes; exactly those are replayed.
 */
export class ReplayBuffer {
  #sql: SqlStorage;
  #latest: number;
  #bytes: number;
  #maxBytes: number;

  constructor(sql: SqlStorage, maxBytes = REPLAY_MAX_BYTES) {
    this.#sql = sql;
    this.#maxBytes = maxBytes;
    const row = sql.exec(`SELECT COALESCE(MAX(last_seq), 0) AS s, COALESCE(SUM(bytes), 0) AS b FROM message_chunks`).one();
    this.#latest = z.number().int().parse(row.s);
    this.#bytes = z.number().int().parse(row.b);
  }

  /** Bytes of messages buffered now. */
  get bytes(): number {
    return this.#bytes;
  }

  get latestSeq(): number {
    return this.#latest;
  }

  oldestSeq(): number | null {
    const v = this.#sql.exec(`SELECT MIN(first_seq) AS s FROM message_chunks`).one().s;
    return typeof v === "number" ? Math.max(v, this.#latest - REPLAY_LIMIT + 1) : null;
  }

  append(drafts: Draft[]): Published[] {
    const out = drafts.map((d) => envelope(d, ++this.#latest));
    let chunk: Stored[] = [];
    let size = 0;
    const write = () => {
      if (!chunk.length) return;
      const json = JSON.stringify(chunk);
      this.#sql.exec(`INSERT INTO message_chunks (first_seq, last_seq, messages, bytes) VALUES (?, ?, ?, ?)`, chunk[0].seq, chunk.at(-1)!.seq, json, json.length);
      this.#bytes += json.length;
      chunk = [];
      size = 0;
    };
    for (const m of out) {
      const stored: Stored = { seq: m.seq, topic: m.topic, queue: m.queue, jobId: m.jobId, jobType: m.jobType, json: m.json };
      size += m.json.length + 200;
      chunk.push(stored);
      if (size >= CHUNK_BYTES) write();
    }
    write();
    // The first_seq term lets SQLite read only the old chunks (by primary key), not every chunk.
    if (out.length) this.#dropped(this.#sql.exec(`DELETE FROM message_chunks WHERE first_seq <= ?1 AND last_seq <= ?1 RETURNING bytes`, this.#latest - REPLAY_LIMIT));
    // Only when over budget: the window function reads every chunk.
    if (this.#bytes > this.#maxBytes) {
      this.#dropped(
        this.#sql.exec(
          `DELETE FROM message_chunks WHERE first_seq IN (
             SELECT first_seq FROM (SELECT first_seq, SUM(bytes) OVER (ORDER BY first_seq DESC) AS newer FROM message_chunks)
             WHERE newer > ?1 AND first_seq < (SELECT MAX(first_seq) FROM message_chunks))
           RETURNING bytes`,
          this.#maxBytes,
        ),
      );
    }
    return out;
  }

  #dropped(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) {
    for (const row of cursor) this.#bytes -= Number(row.bytes);
  }

  /** What is buffered after `since` and passes `keep`, in order; a gap when something after `since` can no longer be replayed. */
  since(since: number, keep: (m: Stored) => boolean): Replay {
    const from = Math.max(since, this.#latest - REPLAY_LIMIT);
    const messages = this.#sql
      .exec(`SELECT messages FROM message_chunks WHERE last_seq > ? ORDER BY first_seq`, from)
      .toArray()
      .flatMap((r) => ChunkSchema.parse(r.messages))
      .filter((m) => m.seq > from && keep(m));
    const oldest = this.oldestSeq();
    const lost = since > this.#latest || (since < this.#latest && (oldest == null || oldest > since + 1));
    return lost ? { kind: "gap", messages, oldestSeq: oldest, latestSeq: this.#latest } : { kind: "ok", messages };
  }
}
