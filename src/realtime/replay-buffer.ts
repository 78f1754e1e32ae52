import { z } from "zod";
import { envelope, TopicSchema, type Draft, type Published, type Stored } from "./messages";

/** How many of the latest messages a reconnecting subscriber can ask for with `since` / `Last-Event-ID`. */
export const REPLAY_LIMIT = 5_000;

export const REPLAY_BUFFER_SCHEMA = [
  `CREATE TABLE messages (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, queue TEXT, job_id TEXT, job_type TEXT, json TEXT NOT NULL)`,
  `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
];

const Row = z.object({ seq: z.number(), topic: TopicSchema, queue: z.string().nullable(), job_id: z.string().nullable(), job_type: z.string().nullable(), json: z.string() });

export type Replay =
  | { kind: "ok"; messages: Stored[] }
  /** Some messages after `since` are gone (or `since` comes from another history): what is left, and the window. */
  | { kind: "gap"; messages: Stored[]; oldestSeq: number | null; latestSeq: number };

/** Numbers messages with a monotonic `seq` and keeps the latest REPLAY_LIMIT of them in the hub's SQLite. */
export class ReplayBuffer {
  #sql: SqlStorage;
  #latest: number;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    const row = sql.exec(`SELECT value FROM counters WHERE name = 'seq'`).toArray()[0];
    this.#latest = row ? z.number().int().parse(row.value) : 0;
  }

  get latestSeq(): number {
    return this.#latest;
  }

  oldestSeq(): number | null {
    const v = this.#sql.exec(`SELECT MIN(seq) AS s FROM messages`).one().s;
    return typeof v === "number" ? v : null;
  }

  append(drafts: Draft[]): Published[] {
    const out: Published[] = [];
    for (const d of drafts) {
      const msg = envelope(d, ++this.#latest);
      this.#sql.exec(`INSERT INTO messages (seq, topic, queue, job_id, job_type, json) VALUES (?, ?, ?, ?, ?, ?)`, msg.seq, d.topic, d.queue, d.jobId, d.jobType, msg.json);
      out.push(msg);
    }
    if (out.length) {
      this.#sql.exec(`INSERT OR REPLACE INTO counters (name, value) VALUES ('seq', ?)`, this.#latest);
      this.#sql.exec(`DELETE FROM messages WHERE seq <= ?`, this.#latest - REPLAY_LIMIT);
    }
    return out;
  }

  /** What is buffered after `since` and passes `keep`, in order; a gap when something after `since` can no longer be replayed. */
  since(since: number, keep: (m: Stored) => boolean): Replay {
    const messages = this.#sql
      .exec(`SELECT seq, topic, queue, job_id, job_type, json FROM messages WHERE seq > ? ORDER BY seq`, since)
      .toArray()
      .map((raw): Stored => {
        const r = Row.parse(raw);
        return { seq: r.seq, topic: r.topic, queue: r.queue, jobId: r.job_id, jobType: r.job_type, json: r.json };
      })
      .filter(keep);
    const oldest = this.oldestSeq();
    const lost = since > this.#latest || (since < this.#latest && (oldest == null || oldest > since + 1));
    return lost ? { kind: "gap", messages, oldestSeq: oldest, latestSeq: this.#latest } : { kind: "ok", messages };
  }
}
