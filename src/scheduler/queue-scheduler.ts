import * as P from "./live-protocol";
import { migrateSqlite } from "../lib/sqlite-migrations";
import { INFLIGHT_SET_MIGRATION, InflightSet } from "./inflight";
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { expireLease, findDuePendingJobs, findExpiredLeases, getJobStates } from "../db/job-recovery";
import { readSettings } from "../config";
import { DEFAULT_WORKERS } from "../model/queue";
import { eventOutbox } from "../events/publisher";
import {
  ClearInput,
  ConfigureInput,
  EnqueueInput,
  QueueInput,
  RateLimitSchema,
  ReleaseInput,
  RemoveInput,
  MAX_JOBS_PER_MESSAGE,
  packExecMessages,
  type DueItem,
  type RateLimit,
  type SchedulerStatus,
} from "./messages";

/** How often a scheduler with work checks D1 for jobs it lost or never heard of. */
export const HEAL_INTERVAL_MS = 30_000;
/** A dispatched job that D1 still shows pending after this long lost its queue message. */
export const LOST_AFTER_MS = 60_000;
/** Pending jobs due within this window are re-armed by the heal if the scheduler does not hold them. */
const HEAL_HORIZON_MS = 5 * 60_000;
/** Messages per sendBatch call (the Queues limit; 100 messages of 25 jobs are about 100 KB, under its 256 KB). */
const SEND_BATCH_LIMIT = 100;

const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE due (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, run_at INTEGER NOT NULL, priority INTEGER NOT NULL)`,
    `CREATE INDEX due_run_at ON due (run_at)`,
    `CREATE TABLE inflight (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, dispatched_at INTEGER NOT NULL)`,
    `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ],
  // Start times inside the rate-limit window (pruned as the window moves).
  [`CREATE TABLE starts (job_id TEXT NOT NULL, at INTEGER NOT NULL)`, `CREATE INDEX starts_at ON starts (at)`],
  // Without a rowid, a row is one written row instead of a row plus its primary-key index entry.
  // `seq` keeps first-in-first-out order within a priority.
  [
    `CREATE TABLE due_v3 (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, run_at INTEGER NOT NULL, priority INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID`,
    `INSERT INTO due_v3 (job_id, attempt, run_at, priority, seq) SELECT job_id, attempt, run_at, priority, rowid FROM due`,
    `DROP TABLE due`,
    `ALTER TABLE due_v3 RENAME TO due`,
    `CREATE INDEX due_run_at ON due (run_at)`,
    `CREATE TABLE inflight_v3 (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, dispatched_at INTEGER NOT NULL) WITHOUT ROWID`,
    `INSERT INTO inflight_v3 (job_id, attempt, dispatched_at) SELECT job_id, attempt, dispatched_at FROM inflight`,
    `DROP TABLE inflight`,
    `ALTER TABLE inflight_v3 RENAME TO inflight`,
  ],
  INFLIGHT_SET_MIGRATION,
  // Dispatch reads the oldest due rows of each priority: a range of this index per priority, not a
  // sort of every due row.
  [`DROP INDEX due_run_at`, `CREATE INDEX due_order ON due (priority, run_at, seq)`],
];
/** Priorities, most urgent first (DueItemSchema: 0..2). */
const PRIORITIES = [2, 1, 0] as const;

const DueRow = z.object({ job_id: z.string(), attempt: z.number(), run_at: z.number(), priority: z.number() });
const StoredWorkers = z.coerce.number().int().min(1).catch(DEFAULT_WORKERS);
const StoredVersion = z.coerce.number().int().min(0).catch(0);
const StoredRateLimit = z
  .string()
  .transform((s) => JSON.parse(s) as unknown)
  .pipe(RateLimitSchema)
  .nullable()
  .catch(null);

/**
 * One per queue. Holds the timeline of due work (a derived index of D1 that can always be
 * rebuilt from it), the concurrency slots, and one alarm at the earliest moment anything is due.
 */
export class QueueScheduler extends DurableObject<Env> {
  #sql: SqlStorage;
  /** Last `seq` given to a due row. */
  #seq = 0;
  #inflight!: InflightSet;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrateSqlite(ctx.storage, MIGRATIONS, this.#sql);
      this.#seq = Number(this.#sql.exec(`SELECT COALESCE(MAX(seq), 0) AS s FROM due`).one().s);
      this.#inflight = new InflightSet(this.#sql);
    });
  }

  async enqueue(input: z.input<typeof EnqueueInput>): Promise<void> {
    const { queue, items } = EnqueueInput.parse(input);
    this.#setQueueName(queue);
    const now = Date.now();
    // Work due now, with a slot free and nothing already waiting, goes straight to the queue:
    // no timeline row is written only to be deleted a moment later.
    const direct = new Set<DueItem>();
    if (!this.#paused() && !this.#hasDueNow(now)) {
      const ready = items.filter((i) => i.runAt <= now).sort((a, b) => b.priority - a.priority || a.runAt - b.runAt);
      for (const item of ready.slice(0, Math.max(0, this.#freeSlots(now)))) direct.add(item);
    }
    for (const item of items) if (!direct.has(item)) this.#upsertDue(item);
    await this.#dispatch([...direct]);
  }

  async remove(input: P.RemoveLiveInput | z.input<typeof RemoveInput>): Promise<P.RemoveLiveOutput> {
    const { queue, jobIds } = RemoveInput.parse("ids" in input ? { queue: input.queue, jobIds: input.ids } : input);
    this.#setQueueName(queue);
    for (const id of jobIds) this.#sql.exec(`DELETE FROM due WHERE job_id = ?`, id);
    await this.#schedule();
    return { removed: [] };
  }

  /**
   * Jobs of this queue finished an attempt (or their message claimed nothing): free their slots and
   * put what is still to run (a retry, an unclaimed pending job) back on the timeline.
   */
  async release(input: z.input<typeof ReleaseInput>): Promise<void> {
    const { queue, items } = ReleaseInput.parse(input);
    this.#setQueueName(queue);
    for (const { jobId, attempt, next } of items) {
      this.#inflight.delete(jobId, attempt);
      // A newer dispatch of the same job already holds a slot: putting it on the timeline too would send it twice.
      if (next && !this.#inflight.has(jobId)) this.#upsertDue(next);
    }
    this.#inflight.save();
    await this.#dispatch();
  }

  /** Reconciles this scheduler with D1 now (the cron reconciler calls this). */
  async heal(queue: string): Promise<void> {
    this.#setQueueName(z.string().min(1).parse(queue));
    await this.#heal();
    await this.#dispatch();
  }

  /** Stops starting work (running jobs finish). Kept in this object's storage, so it outlives eviction and restarts. */
  async pause(input: z.input<typeof QueueInput>): Promise<{ changed: boolean; status: SchedulerStatus }> {
    return this.#setPaused(QueueInput.parse(input).queue, true);
  }

  /** Starts work again; the backlog goes out in priority order. */
  async resume(input: z.input<typeof QueueInput>): Promise<{ changed: boolean; status: SchedulerStatus }> {
    return this.#setPaused(QueueInput.parse(input).queue, false);
  }

  /** Sets the concurrency limit and/or the rate limit (null removes it); absent fields stay as they are. */
  async configure(input: z.input<typeof ConfigureInput>): Promise<SchedulerStatus> {
    const { queue, workers, rateLimit } = ConfigureInput.parse(input);
    this.#setQueueName(queue);
    let changed = false;
    if (workers !== undefined && workers !== this.#workers()) {
      this.#setSetting("workers", String(workers));
      changed = true;
    }
    if (rateLimit !== undefined && JSON.stringify(rateLimit) !== JSON.stringify(this.#rateLimit())) {
      if (rateLimit) this.#setSetting("rate_limit", JSON.stringify(rateLimit));
      else {
        this.#sql.exec(`DELETE FROM settings WHERE key = 'rate_limit'`);
        this.#sql.exec(`DELETE FROM starts`);
      }
      changed = true;
    }
    if (changed) this.#bumpVersion();
    await this.#dispatch();
    return this.status();
  }

  /**
   * Forgets jobs that were deleted from D1, whether waiting or dispatched: a dispatched one can no
   * longer be claimed, so its slot is free at once. Returns how many entries went.
   */
  async clear(input: z.input<typeof ClearInput>): Promise<number> {
    const { queue, jobIds } = ClearInput.parse(input);
    this.#setQueueName(queue);
    let removed = 0;
    for (const id of jobIds) {
      removed += this.#sql.exec(`DELETE FROM due WHERE job_id = ? RETURNING job_id`, id).toArray().length;
      if (this.#inflight.delete(id)) removed++;
    }
    this.#inflight.save();
    await this.#dispatch();
    return removed;
  }

  status(): SchedulerStatus {
    return {
      queue: this.#setting("queue"),
      paused: this.#paused(),
      workers: this.#workers(),
      rateLimit: this.#rateLimit(),
      version: StoredVersion.parse(this.#setting("version") ?? 0),
      due: this.#count("due"),
      inflight: this.#inflight.size,
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

  async #setPaused(queue: string, paused: boolean) {
    this.#setQueueName(queue);
    const changed = this.#paused() !== paused;
    if (changed) {
      this.#setSetting("paused", paused ? "1" : "0");
      this.#bumpVersion();
    }
    await this.#dispatch();
    return { changed, status: this.status() };
  }

  /** How many more jobs may start now: free slots, within the rate limit. */
  #freeSlots(now: number): number {
    return Math.min(this.#workers() - this.#inflight.size, this.#rateRoom(now));
  }

  #hasDueNow(now: number): boolean {
    return this.#sql.exec(`SELECT 1 FROM due WHERE priority IN (0, 1, 2) AND run_at <= ? LIMIT 1`, now).toArray().length > 0;
  }

  /** Up to `limit` due rows, by priority, then run_at, then arrival. */
  #takeDue(now: number, limit: number) {
    const rows: z.infer<typeof DueRow>[] = [];
    for (const priority of PRIORITIES) {
      if (rows.length >= limit) break;
      const batch = this.#sql
        .exec(`SELECT job_id, attempt, run_at, priority FROM due WHERE priority = ? AND run_at <= ? ORDER BY run_at, seq LIMIT ?`, priority, now, limit - rows.length)
        .toArray();
      for (const r of batch) rows.push(DueRow.parse(r));
    }
    return rows;
  }

  /** The earliest run_at after `after`, or null. */
  #nextRunAt(after: number): number | null {
    let next: number | null = null;
    for (const priority of PRIORITIES) {
      const t = this.#sql.exec(`SELECT MIN(run_at) AS t FROM due WHERE priority = ? AND run_at > ?`, priority, after).one().t;
      if (typeof t === "number" && (next == null || t < next)) next = t;
    }
    return next;
  }

  /** Sends what is due to the exec queue, as far as slots allow; `direct` items (due now, never on the timeline) go first. */
  async #dispatch(direct: DueItem[] = []): Promise<void> {
    const queue = this.#setting("queue");
    if (queue && !this.#paused()) {
      const now = Date.now();
      const free = this.#freeSlots(now);
      if (free > 0) {
        const fromTimeline = this.#takeDue(now, Math.max(0, free - direct.length));
        const rows = [...direct.slice(0, free).map((d) => ({ job_id: d.jobId, attempt: d.attempt, run_at: d.runAt, priority: d.priority })), ...fromTimeline];
        const limited = this.#rateLimit() != null;
        // Claim the rows synchronously, before any await, so interleaved calls cannot dispatch them twice.
        // A direct item may still have an older timeline row (a job re-armed for now): it goes too.
        for (const r of rows) this.#sql.exec(`DELETE FROM due WHERE job_id = ?`, r.job_id);
        for (const r of rows) {
          this.#inflight.add(r.job_id, r.attempt, now);
          if (limited) this.#sql.exec(`INSERT INTO starts (job_id, at) VALUES (?, ?)`, r.job_id, now);
        }
        this.#inflight.save();
        // Each message holds N slots, one per job, and each is freed per (job, attempt) as before.
        const messages = packExecMessages(queue, rows.map((r) => [r.job_id, r.attempt]));
        for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
          const chunk = messages.slice(i, i + SEND_BATCH_LIMIT);
          try {
            await this.env.EXEC_QUEUE.sendBatch(chunk.map((body) => ({ body })));
          } catch (err) {
            console.error(`exec queue send failed (dispatches ${chunk.map((m) => m.token).join(", ")}); will retry`, err);
            // Messages are packed in row order: the rows of the unsent ones are the tail from here.
            for (const r of rows.slice(i * MAX_JOBS_PER_MESSAGE)) {
              if (!this.#inflight.delete(r.job_id, r.attempt)) continue;
              this.#sql.exec(`DELETE FROM starts WHERE job_id = ? AND at = ?`, r.job_id, now);
              this.#upsertDue({ jobId: r.job_id, attempt: r.attempt, runAt: r.run_at, priority: r.priority });
            }
            this.#inflight.save();
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
    const hasFreeSlot = this.#workers() > this.#inflight.size;
    let next: number | null = null;
    if (!this.#paused()) {
      // With every slot busy, due work waits for a release rather than a busy-looping alarm.
      const t = this.#nextRunAt(hasFreeSlot ? -1 : now);
      if (t != null) next = Math.max(t, now, this.#rateFreeAt(now));
    }
    if (this.#inflight.size > 0 || this.#sql.exec(`SELECT 1 FROM due LIMIT 1`).toArray().length > 0) {
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

    // Every await below lets other calls run: a slot is freed only for the attempt that was looked
    // at, never by job id alone, or a newer dispatch of the same job would lose its slot.
    for (const expired of await findExpiredLeases(this.env, queue, now)) {
      const outcome = await expireLease(this.env, expired, now, settings, eventOutbox);
      // The message of attempt n carried n - 1 (the attempt it claims from).
      this.#inflight.delete(expired.id, expired.attempt - 1);
      this.#inflight.save();
      if (outcome && !this.#inflight.has(outcome.jobId)) this.#upsertDue(outcome);
    }

    const stale = this.#inflight.dispatchedBefore(now - LOST_AFTER_MS, 500);
    if (stale.length) {
      const states = await getJobStates(this.env, stale.map((s) => s.jobId));
      for (const { jobId, attempt } of stale) {
        const state = states.get(jobId);
        if (state?.status === "running") continue;
        if (!this.#inflight.delete(jobId, attempt)) continue;
        if (state?.status === "pending") this.#upsertDue({ jobId, attempt: state.attempt, runAt: state.runAt, priority: state.priority });
      }
      this.#inflight.save();
    }

    for (const job of await findDuePendingJobs(this.env, queue, now + HEAL_HORIZON_MS)) {
      const held = this.#inflight.has(job.jobId) || this.#sql.exec(`SELECT 1 FROM due WHERE job_id = ?`, job.jobId).toArray().length > 0;
      if (!held) this.#upsertDue(job);
    }
  }

  #upsertDue(item: DueItem) {
    this.#sql.exec(
      `INSERT INTO due (job_id, attempt, run_at, priority, seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET attempt = excluded.attempt, run_at = excluded.run_at, priority = excluded.priority`,
      item.jobId,
      item.attempt,
      item.runAt,
      item.priority,
      ++this.#seq,
    );
  }

  #workers(): number {
    return StoredWorkers.parse(this.#setting("workers") ?? DEFAULT_WORKERS);
  }

  #paused(): boolean {
    return this.#setting("paused") === "1";
  }

  #rateLimit(): RateLimit | null {
    return StoredRateLimit.parse(this.#setting("rate_limit"));
  }

  /** How many more starts the rate limit allows right now (prunes starts that left the window). */
  #rateRoom(now: number): number {
    const rate = this.#rateLimit();
    if (!rate) return Number.POSITIVE_INFINITY;
    this.#sql.exec(`DELETE FROM starts WHERE at <= ?`, now - rate.intervalMs);
    return rate.limit - Number(this.#sql.exec(`SELECT COUNT(*) AS n FROM starts`).one().n);
  }

  /** When the rate limit next allows a start: now, or when the oldest start in the window leaves it. */
  #rateFreeAt(now: number): number {
    const rate = this.#rateLimit();
    if (!rate || this.#rateRoom(now) > 0) return now;
    const row = this.#sql.exec(`SELECT at FROM starts ORDER BY at LIMIT 1 OFFSET ?`, Math.max(0, this.#count("starts") - rate.limit)).one();
    return Number(row.at) + rate.intervalMs;
  }

  #bumpVersion() {
    this.#setSetting("version", String(StoredVersion.parse(this.#setting("version") ?? 0) + 1));
  }

  #count(table: "due" | "starts"): number {
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

  // ---- v2 live-job RPC (see live-protocol.ts); bodies follow.
  async create(input: P.CreateInput): Promise<P.CreateOutput> { P.CreateInput.parse(input); throw new Error("not implemented"); }
  async claim(input: P.ClaimInput): Promise<P.ClaimOutput> { P.ClaimInput.parse(input); throw new Error("not implemented"); }
  async started(input: P.StartedInput): Promise<void> { P.StartedInput.parse(input); throw new Error("not implemented"); }
  async finish(input: P.FinishInput): Promise<P.FinishOutput> { P.FinishInput.parse(input); throw new Error("not implemented"); }
  async heartbeat(input: P.HeartbeatInput): Promise<P.HeartbeatOutput> { P.HeartbeatInput.parse(input); throw new Error("not implemented"); }
  async extendLease(input: P.ExtendLeaseInput): Promise<P.ExtendLeaseOutput> { P.ExtendLeaseInput.parse(input); throw new Error("not implemented"); }
  async cancel(input: P.CancelInput): Promise<P.CancelOutput> { P.CancelInput.parse(input); throw new Error("not implemented"); }
  async requeue(input: P.RequeueInput): Promise<P.RequeueOutput> { P.RequeueInput.parse(input); throw new Error("not implemented"); }
  async get(input: P.GetInput): Promise<P.GetOutput> { P.GetInput.parse(input); throw new Error("not implemented"); }
  async list(input: P.ListInput): Promise<P.ListOutput> { P.ListInput.parse(input); throw new Error("not implemented"); }
  async stats(input: P.StatsInput): Promise<P.StatsOutput> { P.StatsInput.parse(input); throw new Error("not implemented"); }
  async flush(input: P.FlushInput): Promise<P.FlushOutput> { P.FlushInput.parse(input); throw new Error("not implemented"); }
}
