import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { expireLease, findDuePendingJobs, findExpiredLeases, getJobStates } from "../db/job-recovery";
import { readSettings } from "../config";
import { EnqueueInput, ReleaseInput, RemoveInput, type DueItem, type ExecMessage } from "./messages";

/** How often a scheduler with work checks D1 for jobs it lost or never heard of. */
export const HEAL_INTERVAL_MS = 30_000;
/** A dispatched job that D1 still shows pending after this long lost its queue message. */
export const LOST_AFTER_MS = 60_000;
/** Pending jobs due within this window are re-armed by the heal if the scheduler does not hold them. */
const HEAL_HORIZON_MS = 5 * 60_000;
export const DEFAULT_WORKERS = 10;
const SEND_BATCH_LIMIT = 100;

const SCHEMA_VERSION = 1;
const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE due (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, run_at INTEGER NOT NULL, priority INTEGER NOT NULL)`,
    `CREATE INDEX due_run_at ON due (run_at)`,
    `CREATE TABLE inflight (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, dispatched_at INTEGER NOT NULL)`,
    `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ],
];

const DueRow = z.object({ job_id: z.string(), attempt: z.number(), run_at: z.number(), priority: z.number() });

/**
 * One per queue. Holds the timeline of due work (a derived index of D1 that can always be
 * rebuilt from it), the concurrency slots, and one alarm at the earliest moment anything is due.
 */
export class QueueScheduler extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => this.#migrate());
  }

  async enqueue(input: z.input<typeof EnqueueInput>): Promise<void> {
    const { queue, items } = EnqueueInput.parse(input);
    this.#setQueueName(queue);
    for (const item of items) this.#upsertDue(item);
    await this.#dispatch();
  }

  async remove(input: z.input<typeof RemoveInput>): Promise<void> {
    const { queue, jobIds } = RemoveInput.parse(input);
    this.#setQueueName(queue);
    for (const id of jobIds) this.#sql.exec(`DELETE FROM due WHERE job_id = ?`, id);
    await this.#schedule();
  }

  /** A job of this queue finished an attempt: free its slot and, for a retry, put it back on the timeline. */
  async release(input: z.input<typeof ReleaseInput>): Promise<void> {
    const { queue, jobId, attempt, next } = ReleaseInput.parse(input);
    this.#setQueueName(queue);
    this.#sql.exec(`DELETE FROM inflight WHERE job_id = ? AND attempt = ?`, jobId, attempt);
    if (next) this.#upsertDue(next);
    await this.#dispatch();
  }

  /** Reconciles this scheduler with D1 now (the cron reconciler calls this). */
  async heal(queue: string): Promise<void> {
    this.#setQueueName(z.string().min(1).parse(queue));
    await this.#heal();
    await this.#dispatch();
  }

  snapshot() {
    return {
      due: this.#count("due"),
      inflight: this.#count("inflight"),
      workers: this.#workers(),
      paused: this.#setting("paused") === "1",
    };
  }

  override async alarm(): Promise<void> {
    const lastHeal = Number(this.#setting("last_heal_at") ?? 0);
    try {
      if (Date.now() - lastHeal >= HEAL_INTERVAL_MS) await this.#heal();
    } catch (err) {
      // A failed heal must not stop due work from being dispatched; the next alarm tries again.
      console.error("scheduler heal failed", err);
    }
    await this.#dispatch();
  }

  async #dispatch(): Promise<void> {
    const queue = this.#setting("queue");
    if (queue && this.#setting("paused") !== "1") {
      const free = this.#workers() - this.#count("inflight");
      if (free > 0) {
        const now = Date.now();
        const rows = this.#sql
          .exec(`SELECT job_id, attempt, run_at, priority FROM due WHERE run_at <= ? ORDER BY priority DESC, run_at, rowid LIMIT ?`, now, free)
          .toArray()
          .map((r) => DueRow.parse(r));
        // Claim the rows synchronously, before any await, so interleaved calls cannot dispatch them twice.
        for (const r of rows) {
          this.#sql.exec(`DELETE FROM due WHERE job_id = ?`, r.job_id);
          this.#sql.exec(`INSERT OR REPLACE INTO inflight (job_id, attempt, dispatched_at) VALUES (?, ?, ?)`, r.job_id, r.attempt, now);
        }
        for (let i = 0; i < rows.length; i += SEND_BATCH_LIMIT) {
          const chunk = rows.slice(i, i + SEND_BATCH_LIMIT);
          try {
            await this.env.EXEC_QUEUE.sendBatch(chunk.map((r) => ({ body: { jobId: r.job_id, attempt: r.attempt, queue } satisfies ExecMessage })));
          } catch (err) {
            console.error("exec queue send failed; will retry", err);
            for (const r of rows.slice(i)) {
              this.#sql.exec(`DELETE FROM inflight WHERE job_id = ?`, r.job_id);
              this.#upsertDue({ jobId: r.job_id, attempt: r.attempt, runAt: r.run_at, priority: r.priority });
            }
            break;
          }
        }
      }
    }
    await this.#schedule();
  }

  /** Sets the one alarm to the earliest moment there is something to do, or deletes it. */
  async #schedule(): Promise<void> {
    const now = Date.now();
    const paused = this.#setting("paused") === "1";
    const hasFreeSlot = this.#workers() > this.#count("inflight");
    let next: number | null = null;
    if (!paused) {
      // With every slot busy, due work waits for a release rather than a busy-looping alarm.
      const row = this.#sql.exec(`SELECT MIN(run_at) AS t FROM due WHERE run_at > ?`, hasFreeSlot ? -1 : now).one();
      if (typeof row.t === "number") next = Math.max(row.t, now);
    }
    if (this.#count("due") + this.#count("inflight") > 0) {
      const heal = Number(this.#setting("last_heal_at") ?? now) + HEAL_INTERVAL_MS;
      next = next == null ? heal : Math.min(next, heal);
    }
    const current = await this.ctx.storage.getAlarm();
    if (next == null) {
      if (current != null) await this.ctx.storage.deleteAlarm();
    } else if (current !== next) {
      await this.ctx.storage.setAlarm(next);
    }
  }

  async #heal(): Promise<void> {
    const queue = this.#setting("queue");
    if (!queue) return;
    const now = Date.now();
    this.#setSetting("last_heal_at", String(now));
    const settings = readSettings(this.env);

    for (const expired of await findExpiredLeases(this.env, queue, now)) {
      const outcome = await expireLease(this.env, expired, now, settings);
      this.#sql.exec(`DELETE FROM inflight WHERE job_id = ?`, expired.id);
      if (outcome) this.#upsertDue(outcome);
    }

    const stale = this.#sql
      .exec(`SELECT job_id FROM inflight WHERE dispatched_at < ? LIMIT 500`, now - LOST_AFTER_MS)
      .toArray()
      .map((r) => String(r.job_id));
    if (stale.length) {
      const states = await getJobStates(this.env, stale);
      for (const id of stale) {
        const state = states.get(id);
        if (state?.status === "running") continue;
        this.#sql.exec(`DELETE FROM inflight WHERE job_id = ?`, id);
        if (state?.status === "pending") this.#upsertDue({ jobId: id, attempt: state.attempt, runAt: state.runAt, priority: state.priority });
      }
    }

    for (const job of await findDuePendingJobs(this.env, queue, now + HEAL_HORIZON_MS)) {
      const held = this.#sql.exec(`SELECT 1 FROM due WHERE job_id = ? UNION ALL SELECT 1 FROM inflight WHERE job_id = ?`, job.jobId, job.jobId).toArray();
      if (held.length === 0) this.#upsertDue(job);
    }
  }

  #upsertDue(item: DueItem) {
    this.#sql.exec(
      `INSERT INTO due (job_id, attempt, run_at, priority) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET attempt = excluded.attempt, run_at = excluded.run_at, priority = excluded.priority`,
      item.jobId,
      item.attempt,
      item.runAt,
      item.priority,
    );
  }

  #workers(): number {
    return Number(this.#setting("workers") ?? DEFAULT_WORKERS);
  }

  #count(table: "due" | "inflight"): number {
    return Number(this.#sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
  }

  #setting(key: string): string | null {
    const rows = this.#sql.exec(`SELECT value FROM settings WHERE key = ?`, key).toArray();
    return rows.length ? String(rows[0].value) : null;
  }

  #setSetting(key: string, value: string) {
    this.#sql.exec(`INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)`, key, value);
  }

  #setQueueName(queue: string) {
    if (this.#setting("queue") !== queue) this.#setSetting("queue", queue);
  }

  #migrate() {
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`);
    const row = this.#sql.exec(`SELECT MAX(version) AS v FROM schema_version`).one();
    const current = typeof row.v === "number" ? row.v : 0;
    for (let v = current; v < SCHEMA_VERSION; v++) {
      for (const stmt of MIGRATIONS[v]) this.#sql.exec(stmt);
      this.#sql.exec(`INSERT INTO schema_version (version) VALUES (?)`, v + 1);
    }
  }
}
