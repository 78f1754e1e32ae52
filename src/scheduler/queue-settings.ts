import { z } from "zod";
import { DEFAULT_WORKERS } from "../model/queue";
import type { LiveStore } from "./live-store";
import { RateLimitSchema, type RateLimit } from "./messages";

const StoredWorkers = z.coerce.number().int().min(1).catch(DEFAULT_WORKERS);
const StoredVersion = z.coerce.number().int().min(0).catch(0);
const StoredRateLimit = z
  .string()
  .transform((s) => JSON.parse(s) as unknown)
  .pipe(RateLimitSchema)
  .nullable()
  .catch(null);

/**
 * A queue scheduler's settings (the `settings` key/value table: queue name, pause, workers, rate
 * limit, version, and the object's own bookkeeping) and its rate window (the `starts` table: one
 * row per start inside the window, kept only while a rate limit is set). Reads are cached; every
 * write goes through the live store so it is counted.
 */
export class QueueSettings {
  #store: LiveStore;
  #sql: SqlStorage;
  #cache = new Map<string, string | null>();
  /** Parsed values by key, for the raw value they were parsed from: claims read workers and the rate limit for every job. */
  #parsed = new Map<string, { raw: string | null; value: unknown }>();

  constructor(store: LiveStore, sql: SqlStorage) {
    this.#store = store;
    this.#sql = sql;
  }

  get(key: string): string | null {
    if (!this.#cache.has(key)) {
      const rows = this.#sql.exec(`SELECT value FROM settings WHERE key = ?`, key).toArray();
      this.#cache.set(key, rows.length ? String(rows[0].value) : null);
    }
    return this.#cache.get(key) ?? null;
  }

  set(key: string, value: string): void {
    if (this.get(key) === value) return;
    this.#store.write(`INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)`, key, value);
    this.#cache.set(key, value);
  }

  delete(key: string): void {
    if (this.get(key) == null) return;
    this.#store.write(`DELETE FROM settings WHERE key = ?`, key);
    this.#cache.set(key, null);
  }

  get queue(): string | null {
    return this.get("queue");
  }

  get paused(): boolean {
    return this.get("paused") === "1";
  }

  get workers(): number {
    return this.#parse("workers", (raw) => StoredWorkers.parse(raw ?? DEFAULT_WORKERS));
  }

  get rateLimit(): RateLimit | null {
    return this.#parse("rate_limit", (raw) => StoredRateLimit.parse(raw));
  }

  get version(): number {
    return this.#parse("version", (raw) => StoredVersion.parse(raw ?? 0));
  }

  /** A setting parsed once per stored value. */
  #parse<T>(key: string, parse: (raw: string | null) => T): T {
    const raw = this.get(key);
    const hit = this.#parsed.get(key);
    if (hit && hit.raw === raw) return hit.value as T;
    const value = parse(raw);
    this.#parsed.set(key, { raw, value });
    return value;
  }

  bumpVersion(): void {
    this.set("version", String(this.version + 1));
  }

  setRateLimit(rate: RateLimit | null): void {
    if (rate) this.set("rate_limit", JSON.stringify(rate));
    else {
      this.delete("rate_limit");
      this.#store.write(`DELETE FROM starts`);
    }
  }

  /** How many more starts the rate limit allows now (prunes starts that left the window). */
  rateRoom(now: number): number {
    const rate = this.rateLimit;
    if (!rate) return Number.POSITIVE_INFINITY;
    this.#store.write(`DELETE FROM starts WHERE at <= ?`, now - rate.intervalMs);
    return rate.limit - Number(this.#sql.exec(`SELECT COUNT(*) AS n FROM starts`).one().n);
  }

  /** When the rate limit next allows a start: now, or when the oldest start in the window leaves it. */
  rateFreeAt(now: number): number {
    const rate = this.rateLimit;
    if (!rate || this.rateRoom(now) > 0) return now;
    const count = Number(this.#sql.exec(`SELECT COUNT(*) AS n FROM starts`).one().n);
    const row = this.#sql.exec(`SELECT at FROM starts ORDER BY at LIMIT 1 OFFSET ?`, Math.max(0, count - rate.limit)).one();
    return Number(row.at) + rate.intervalMs;
  }

  recordStart(jobId: string, at: number): void {
    if (this.rateLimit) this.#store.write(`INSERT INTO starts (job_id, at) VALUES (?, ?)`, jobId, at);
  }

  forgetStart(jobId: string, at: number): void {
    if (this.rateLimit) this.#store.write(`DELETE FROM starts WHERE job_id = ? AND at = ?`, jobId, at);
  }
}
