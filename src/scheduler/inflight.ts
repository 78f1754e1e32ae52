import { z } from "zod";

/** Moves the per-row `inflight` table into the one-row set below. */
export const INFLIGHT_SET_MIGRATION = [
  `CREATE TABLE inflight_set (id INTEGER PRIMARY KEY CHECK (id = 1), entries TEXT NOT NULL)`,
  `INSERT INTO inflight_set (id, entries) SELECT 1, COALESCE(json_group_array(json_array(job_id, attempt, dispatched_at)), '[]') FROM inflight`,
  `DROP TABLE inflight`,
];

const Entries = z.array(z.tuple([z.string(), z.number().int(), z.number().int()]));

/**
 * The attempts a queue's scheduler has dispatched and not yet seen released (its busy slots). Kept
 * in memory and stored as one SQLite row, written once per change set: dispatching or releasing a
 * batch of fifty jobs writes one row, not fifty. Callers `save()` right after changing it, before
 * any await, so storage always matches what was sent.
 */
export class InflightSet {
  #sql: SqlStorage;
  #entries = new Map<string, { attempt: number; dispatchedAt: number }>();
  #dirty = false;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    const row = sql.exec(`SELECT entries FROM inflight_set WHERE id = 1`).toArray()[0];
    const parsed = Entries.safeParse(row ? JSON.parse(String(row.entries)) : []);
    for (const [jobId, attempt, dispatchedAt] of parsed.success ? parsed.data : []) this.#entries.set(jobId, { attempt, dispatchedAt });
  }

  get size(): number {
    return this.#entries.size;
  }

  has(jobId: string): boolean {
    return this.#entries.has(jobId);
  }

  add(jobId: string, attempt: number, dispatchedAt: number): void {
    this.#entries.set(jobId, { attempt, dispatchedAt });
    this.#dirty = true;
  }

  /** Removes a job's entry (only for that attempt, when given); true when there was one. */
  delete(jobId: string, attempt?: number): boolean {
    const entry = this.#entries.get(jobId);
    if (!entry || (attempt !== undefined && entry.attempt !== attempt)) return false;
    this.#entries.delete(jobId);
    this.#dirty = true;
    return true;
  }

  /** Entries dispatched before `at`, each with its attempt, so a caller that awaits can free exactly that attempt. */
  dispatchedBefore(at: number, limit: number): { jobId: string; attempt: number }[] {
    const out: { jobId: string; attempt: number }[] = [];
    for (const [jobId, e] of this.#entries) {
      if (out.length >= limit) break;
      if (e.dispatchedAt < at) out.push({ jobId, attempt: e.attempt });
    }
    return out;
  }

  save(): void {
    if (!this.#dirty) return;
    const entries = JSON.stringify([...this.#entries].map(([jobId, e]) => [jobId, e.attempt, e.dispatchedAt]));
    this.#sql.exec(`INSERT INTO inflight_set (id, entries) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET entries = excluded.entries`, entries);
    this.#dirty = false;
  }
}
