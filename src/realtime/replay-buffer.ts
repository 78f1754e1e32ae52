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
/** A chunk stays well under SQLite's 2 MB row limit. */
const CHUNK_BYTES = 512 * 1024;

const StoredSchema = z.object({ seq: z.number(), topic: TopicSchema, queue: z.string().nullable(), jobId: z.string().nullable(), jobType: z.string().nullable(), json: z.string() });
const ChunkSchema = z.string().transform((s) => JSON.parse(s) as unknown).pipe(z.array(StoredSchema));

export type Replay =
  | { kind: "ok"; messages: Stored[] }
  /** Some messages after `since` are gone (or `since` comes from another history): what is left, and the window. */
  | { kind: "gap"; messages: Stored[]; oldestSeq: number | null; latestSeq: number };

/** Numbers messages with a monotonic `seq` and keeps (at least) the latest REPLAY_LIMIT of them in the hub's SQLite; exactly those are replayed. */
export class ReplayBuffer {
  #sql: SqlStorage;
  #latest: number;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#latest = z.number().int().parse(sql.exec(`SELECT COALESCE(MAX(last_seq), 0) AS s FROM message_chunks`).one().s);
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
      this.#sql.exec(`INSERT INTO message_chunks (first_seq, last_seq, messages) VALUES (?, ?, ?)`, chunk[0].seq, chunk.at(-1)!.seq, JSON.stringify(chunk));
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
    if (out.length) this.#sql.exec(`DELETE FROM message_chunks WHERE first_seq <= ?1 AND last_seq <= ?1`, this.#latest - REPLAY_LIMIT);
    return out;
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
