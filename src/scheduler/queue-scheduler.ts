import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { readSettings } from "../config";
import { writeArchiveFlush } from "../db/archive";
import type { AttemptRow, JobRow } from "../db/schema";
import { deliverEvents, deliverFlushedEvents, eventOutbox } from "../events/publisher";
import { migrateSqlite } from "../lib/sqlite-migrations";
import type { DomainEvent } from "../model/events";
import { isTerminalStatus, newestFirst, newJobRow, singleAttemptOf, type JobStatus } from "../model/job";
import { INFLIGHT_SET_MIGRATION } from "./inflight";
import { deleteLegacyRows, LEGACY_IMPORT_BATCH, readLegacyJobs } from "./legacy-import";
import { applyChange, changedFields, detailOf, fromHeld, heldOf, matchesFilter, newLiveJob, type LiveJob } from "./live-jobs";
import * as P from "./live-protocol";
import { LivePublisher } from "./live-publisher";
import { LIVE_STORE_MIGRATION, LiveStore, type FlushEntry } from "./live-store";
import { ConfigureInput, packExecMessages, QueueInput, type SchedulerStatus } from "./messages";
import { QueueSettings } from "./queue-settings";
import { ARCHIVE_FLUSH_EVENTS, ARCHIVE_FLUSH_JOBS, flushJournalJson, planFlush, type WaitingEvent } from "./flush-plan";
import { ArmFaultInput, ClaimForFaultInput, ObjectFaults } from "./object-faults";
import { Timeline } from "./timeline";
import * as T from "./transitions";

/** A dispatched job whose claim has not come after this long lost its message: it is sent again. */
export const LOST_AFTER_MS = 60_000;
/** Flush to D1 once a flush would be full (see #flushFull), or this long after the first ended job or event waits. */
export const ARCHIVE_FLUSH_MS = 1000;
/** How many flushes' worth may wait while due jobs wait for a slot (see #flushFull): a few MB held at most. */
const FLUSH_DEFER_FACTOR = 4;
export { ARCHIVE_FLUSH_JOBS };
/** Job changes per journal entry (so a flush, which takes events by whole entries, stays bounded). */
const ENTRY_MAX_CHANGES = 200;
/** A failed flush or send is tried again after this long. */
const RETRY_MS = 1000;
/** Messages per sendBatch call (the Queues limit; 100 messages of 25 jobs are about 100 KB, under its 256 KB). */
const SEND_BATCH_LIMIT = 100;
/** Live events of the changes made within this long of each other are published together (see LivePublisher). */
export const LIVE_PUBLISH_MS = 50;
/**
 * A create that finds no commit under way waits this long for others before committing: single
 * creates sent together reach the object a few ms apart, and each segment row, exec message,
 * claim and live publish is paid once per group, not per create.
 */
export const CREATE_WINDOW_MS = 5;
/**
 * After a consumer invocation that runs this queue's jobs asked for more (see `finish` and `next`),
 * due jobs are held this long for its next ask instead of going through the exec queue: it asks
 * again within a few ms, and a job sent meanwhile would wait for another invocation.
 */
export const CHAIN_HOLD_MS = 20;
/** A recurring occurrence created within this long is not created again. */
const RECURRING_SLOT_MS = 24 * 3600_000;

const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE due (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, run_at INTEGER NOT NULL, priority INTEGER NOT NULL)`,
    `CREATE INDEX due_run_at ON due (run_at)`,
    `CREATE TABLE inflight (job_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL, dispatched_at INTEGER NOT NULL)`,
    `CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  ],
  // Start times inside the rate-limit window (pruned as the window moves).
  [`CREATE TABLE starts (job_id TEXT NOT NULL, at INTEGER NOT NULL)`, `CREATE INDEX starts_at ON starts (at)`],
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
  [`DROP INDEX due_run_at`, `CREATE INDEX due_order ON due (priority, run_at, seq)`],
  // The object owns its live jobs: the timeline and the dispatched set are rebuilt in memory from
  // its live log (live-store.ts, tables made per generation). The old due rows are superseded by
  // the one-time import of the D1 rows they pointed at; settings and the rate window stay.
  [`DROP TABLE due`, `DROP TABLE inflight_set`, ...LIVE_STORE_MIGRATION],
];

const SeqFloor = z.coerce.number().int().min(0).catch(0);

type Dispatch = { token: string; attempt: number; at: number };
/** A consumer invocation waiting in `next` for up to `take` due jobs. */
type Waiter = { take: number; resolve: (claimed: JobRow[]) => void; timer: ReturnType<typeof setTimeout> };
type ActiveFlush = { seq: number; entry: FlushEntry };
type CreateBatch = {
  rows: JobRow[];
  slots: string[];
  ids: Set<string>;
  done: Promise<void>;
  settle: { resolve: () => void; reject: (err: unknown) => void };
};

/**
 * One per queue: owns the queue's live jobs (pending, waiting for a retry, dispatched, running, and
 * ended ones until they are archived in D1). Durable as segments and a journal in its SQLite,
 * indexed in memory (rebuilt in the constructor). Its alarm is the one clock: due dispatch, lease
 * expiry, lost-dispatch re-send, the flush to D1.
 */
export class QueueScheduler extends DurableObject<Env> {
  #store: LiveStore;
  #settings: QueueSettings;
  #jobs = new Map<string, LiveJob>();
  #timeline = new Timeline();
  #running = new Set<string>();
  #dispatched = new Map<string, Dispatch>();
  /** Ended jobs not yet in a flush. */
  #finished = new Set<string>();
  /** Lifecycle events not yet in a flush, with the seq of the row that holds them. */
  #events: WaitingEvent[] = [];
  #waitingSince: number | null = null;
  /** Lifecycle events of every row up to this seq are in D1. */
  #through = 0;
  #activeFlush: ActiveFlush | null = null;
  #flushing: Promise<number> | null = null;
  #importing: Promise<void> | null = null;
  #arrival = 0;
  /** Creates waiting for the commit in progress, to share the next segment. */
  #createBatch: CreateBatch | null = null;
  #committingCreates = false;
  #alarmAt: number | null = null;
  #retryAfter = 0;
  /** Consumer invocations waiting for due jobs; served before the exec queue. */
  #waiters: Waiter[] = [];
  /** Until then, due jobs wait for a consumer invocation's next ask (CHAIN_HOLD_MS). */
  #chainHoldUntil = 0;
  #faults = new ObjectFaults();
  #live: LivePublisher;
  /** Names this instance, so the fault suite can tell that a kill really restarted the object. */
  #instance = crypto.randomUUID();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new LiveStore(ctx.storage);
    this.#settings = new QueueSettings(this.#store, ctx.storage.sql);
    this.#live = new LivePublisher((events) => deliverEvents(env, events), (work) => ctx.waitUntil(work), LIVE_PUBLISH_MS);
    // Storage calls are synchronous: the index is whole before the constructor returns.
    migrateSqlite(ctx.storage, MIGRATIONS);
    this.#rebuild();
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      // Work the previous instance left (an unfinished flush, expired leases, due jobs) resumes at once.
      if (this.#jobs.size || this.#activeFlush) await this.#setAlarm(Date.now());
    });
  }

  // ---- live jobs

  /**
   * Makes jobs live. Returns once their segment is committed (so a 2xx means the job will run) and
   * what was due was handed to the exec queue. Creates are group-committed: the first waits
   * CREATE_WINDOW_MS for others, and one arriving while an earlier group is being committed and
   * dispatched waits for it and shares the next segment row and dispatch with every other create
   * that arrived meanwhile (fewer rows, fewer and fuller messages): a busy queue writes a row per group.
   */
  async create(input: P.CreateInput): Promise<P.CreateOutput> {
    const { queue, jobs } = P.CreateInput.parse(input);
    this.#setQueueName(queue);
    const now = Date.now();
    const open = this.#createBatch;
    const created: JobRow[] = [];
    const skipped: string[] = [];
    const slots: string[] = [];
    const seen = new Set<string>();
    for (const j of jobs) {
      const slot = j.recurringId != null && j.scheduledFor != null ? `${j.recurringId}|${j.scheduledFor}` : null;
      const taken = slot != null && (slots.includes(slot) || !!open?.slots.includes(slot) || this.#slotTaken(slot, now));
      if (this.#jobs.has(j.id) || seen.has(j.id) || open?.ids.has(j.id) || taken) {
        skipped.push(j.id);
        continue;
      }
      seen.add(j.id);
      if (slot) slots.push(slot);
      created.push(newJobRow(j, now));
    }
    if (created.length) {
      const batch = open ?? this.#openCreateBatch();
      batch.rows.push(...created);
      batch.slots.push(...slots);
      for (const r of created) batch.ids.add(r.id);
      if (!this.#committingCreates) void this.#drainCreates();
      await batch.done;
    }
    return { created: created.map((r) => r.id), skipped };
  }

  #openCreateBatch(): CreateBatch {
    let settle!: { resolve: () => void; reject: (err: unknown) => void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const batch: CreateBatch = { rows: [], slots: [], ids: new Set(), done, settle };
    this.#createBatch = batch;
    return batch;
  }

  /** Commits waiting creates, one group at a time, until none wait. */
  async #drainCreates(): Promise<void> {
    this.#committingCreates = true;
    try {
      await new Promise((resolve) => setTimeout(resolve, CREATE_WINDOW_MS));
      // Each commit (and its dispatch) takes time too: what arrives meanwhile is the next group.
      while (this.#createBatch) {
        const batch = this.#createBatch;
        this.#createBatch = null;
        await this.#commitCreates(batch);
      }
    } finally {
      this.#committingCreates = false;
    }
  }

  /** Commits a batch of creates as one segment, then dispatches what is due; settles every caller's wait. */
  async #commitCreates(batch: CreateBatch): Promise<void> {
    const now = Date.now();
    try {
      this.#store.transaction(() => {
        this.#store.appendSegment(batch.rows);
        for (const slot of batch.slots) this.#store.write(`INSERT OR REPLACE INTO recurring_slots (slot, at) VALUES (?, ?)`, slot, now);
        if (batch.slots.length) this.#store.write(`DELETE FROM recurring_slots WHERE at < ?`, now - RECURRING_SLOT_MS);
      });
    } catch (err) {
      batch.settle.reject(err);
      return;
    }
    for (const row of batch.rows) this.#hold(newLiveJob(row, ++this.#arrival));
    // Announced before the creators are answered, as when each publish went at once.
    this.#live.publish(batch.rows.map((row) => T.createdEvent(row, now)), { now: true });
    if (this.#faults.take("after-create-commit")) {
      batch.settle.resolve();
      this.#dieSoon("after a create committed, before its dispatch");
      return;
    }
    // The jobs are durable now: a failed send or alarm write is retried by the next dispatch, not
    // reported to the creator as a failed create.
    await this.#dispatch().catch((err) => console.error("dispatch after create failed; the next dispatch retries", err));
    batch.settle.resolve();
  }

  async claim(input: P.ClaimInput): Promise<P.ClaimOutput> {
    const { token, jobs, queue } = P.ClaimInput.parse(input);
    this.#setQueueName(queue);
    const [claimed] = await this.#claim([{ token, jobs }]);
    return { claimed };
  }

  /** Claims for several exec messages at once: as many `claim` calls in a row, journaled as one group. */
  async claimMessages(input: P.ClaimMessagesInput): Promise<P.ClaimMessagesOutput> {
    const { messages, queue } = P.ClaimMessagesInput.parse(input);
    this.#setQueueName(queue);
    return { claimed: await this.#claim(messages) };
  }

  /** Claims each message's jobs (a job once, for the first message that may claim it); returns what each claimed. */
  async #claim(messages: { token: string; jobs: [string, number][] }[]): Promise<JobRow[][]> {
    const now = Date.now();
    const claims: T.Transition[] = [];
    const claimedIds: string[][] = [];
    const seen = new Set<string>();
    let freed = false;
    for (const { token, jobs } of messages) {
      const ids: string[] = [];
      for (const [id, attempt] of jobs) {
        const job = this.#jobs.get(id);
        const dispatch = this.#dispatched.get(id);
        if (!job || (dispatch && dispatch.token !== token) || seen.has(id)) continue;
        if (!T.canClaim(job, attempt, now)) {
          // This dispatch's own message that can no longer claim its job gives the slot back.
          if (dispatch && dispatch.attempt === attempt && this.#dispatched.delete(id)) {
            freed = true;
            if (job.row.status === "pending") this.#timeline.place(id, job.row.runAt, job.row.priority, job.arrival);
          }
          continue;
        }
        seen.add(id);
        ids.push(id);
        claims.push(T.claim(job, now));
      }
      claimedIds.push(ids);
    }
    if (claims.length) {
      this.#journal(claims);
      if (this.#faults.take("after-claim-commit")) this.ctx.abort("fault injected: after a claim committed");
      for (const { change } of claims) {
        this.#dispatched.delete(change.id);
        this.#timeline.drop(change.id);
        this.#running.add(change.id);
      }
      await this.#schedule();
    }
    if (freed) this.#kick();
    return claimedIds.map((ids) => ids.map((id) => ({ ...this.#jobs.get(id)!.row })));
  }

  /**
   * Handlers of these claimed attempts started: an expired lease then counts as a retry. Kept in
   * memory only (a row per start would cost as much as the claim); after a restart every running
   * attempt counts as started, so an attempt that keeps killing its consumer cannot retry for ever.
   */
  async started(input: P.StartedInput): Promise<void> {
    const { attempts, queue } = P.StartedInput.parse(input);
    this.#setQueueName(queue);
    for (const { id, attempt } of attempts) {
      const job = this.#jobs.get(id);
      if (job && job.row.status === "running" && job.row.attempt === attempt) job.handlerStarted = true;
    }
  }

  /**
   * Records attempts' ends. With `take`, the caller goes on running this queue's jobs: the slots
   * the ends free are given to due jobs claimed for it, in the same journal row as the ends.
   */
  async finish(input: P.FinishInput): Promise<P.FinishOutput> {
    const { ended, queue, take } = P.FinishInput.parse(input);
    this.#setQueueName(queue);
    const done: T.Transition[] = [];
    const seen = new Set<string>();
    for (const e of ended) {
      const job = this.#jobs.get(e.id);
      const t = job && !seen.has(e.id) ? T.finish(job, e) : null;
      if (t) {
        seen.add(e.id);
        done.push(t);
      }
    }
    const now = Date.now();
    const claims = take ? this.#claimDue(take, now, done.length) : [];
    // Without `take` the caller asks for nothing more (its chain is over, or it never had one): due
    // jobs go through the exec queue at once instead of waiting out a hold.
    this.#chainHoldUntil = take ? now + CHAIN_HOLD_MS : 0;
    const statuses: Record<string, JobStatus> = {};
    let next: JobRow[] | undefined;
    if (done.length || claims.length) {
      this.#journal([...done, ...claims]);
      for (const t of done) {
        statuses[t.change.id] = t.status;
        this.#afterEnd(t.change.id);
      }
      next = this.#runClaimed(claims);
      this.#kick();
    }
    return take ? { statuses, next: next ?? [] } : { statuses };
  }

  /**
   * A consumer invocation with room takes due jobs: at once if some are due, else the first that
   * become due (or are created) within `waitMs`. Its claims commit before the reply, as `claim`'s do.
   */
  async next(input: P.NextInput): Promise<P.NextOutput> {
    const { queue, take, waitMs } = P.NextInput.parse(input);
    this.#setQueueName(queue);
    const now = Date.now();
    this.#chainHoldUntil = now + CHAIN_HOLD_MS;
    const claims = this.#claimDue(take, now);
    if (claims.length || !waitMs) {
      if (claims.length) this.#journal(claims);
      const next = this.#runClaimed(claims);
      if (claims.length) this.#kick();
      return { next };
    }
    const next = await new Promise<JobRow[]>((resolve) => {
      const waiter: Waiter = {
        take,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          // It may ask again at once (its other jobs still run).
          this.#chainHoldUntil = Date.now() + CHAIN_HOLD_MS;
          resolve([]);
        }, waitMs),
      };
      this.#waiters.push(waiter);
      // The alarm may be set for the end of a hold; a waiter takes due jobs at their time.
      this.ctx.waitUntil(this.#schedule());
    });
    return { next };
  }

  async heartbeat(input: P.HeartbeatInput): Promise<P.HeartbeatOutput> {
    const { running, queue } = P.HeartbeatInput.parse(input);
    this.#setQueueName(queue);
    const cancel: string[] = [];
    for (const r of running) {
      const job = this.#jobs.get(r.id);
      if (!job || job.row.status !== "running" || job.row.attempt !== r.attempt) continue;
      // Progress lives in memory only: the attempt's end reports the last one, which is journaled.
      if (r.progress) job.row = { ...job.row, progress: r.progress.percent, progressMessage: r.progress.message };
      if (job.row.cancelRequested) cancel.push(r.id);
    }
    return { cancel };
  }

  async extendLease(input: P.ExtendLeaseInput): Promise<P.ExtendLeaseOutput> {
    const { id, attempt, leaseUntil, queue } = P.ExtendLeaseInput.parse(input);
    this.#setQueueName(queue);
    const job = this.#jobs.get(id);
    if (!job || job.row.status !== "running" || job.row.attempt !== attempt) return { extended: false };
    this.#journal([{ change: { id, set: { leaseUntil } }, event: null, status: "running" }]);
    await this.#schedule();
    return { extended: true };
  }

  async cancel(input: P.CancelInput): Promise<P.CancelOutput> {
    const { id, queue } = P.CancelInput.parse(input);
    this.#setQueueName(queue);
    const job = this.#jobs.get(id);
    if (!job) return { result: "not_live" };
    const now = Date.now();
    if (job.row.status === "pending") {
      this.#journal([T.cancelPending(job, now)]);
      this.#afterEnd(id);
      this.#kick();
      return { result: "cancelled", job: { ...job.row } };
    }
    if (job.row.status === "running") {
      if (!job.row.cancelRequested) this.#journal([T.requestCancel(job, now)]);
      return { result: "requested", job: { ...job.row } };
    }
    return { result: "not_cancellable", job: { ...job.row } };
  }

  async requeue(input: P.RequeueInput): Promise<P.RequeueOutput> {
    const { id, from, runAt, priority, resetRetryCount, archived, queue } = P.RequeueInput.parse(input);
    this.#setQueueName(queue);
    let held = this.#jobs.get(id);
    let prior: JobRow | undefined = archived;
    if (held && isTerminalStatus(held.row.status)) {
      // Ended but not archived yet: archive it first, so its row in D1 and the revived job agree.
      prior = { ...held.row };
      const heldAttempts = held.attempts;
      await this.#flushAll();
      held = this.#jobs.get(id);
      if (held) return { error: "conflict", status: held.row.status };
      return this.#revive(prior, heldAttempts, { from, runAt, priority, resetRetryCount });
    }
    const now = Date.now();
    if (held) {
      if (!from.includes(held.row.status) || held.row.status === "running") return { error: "conflict", status: held.row.status };
      const row = T.requeueSet(held.row, { runAt, priority, resetRetryCount, now });
      this.#journal([{ change: { id, set: changedFields(held.row, row) }, event: null, status: "pending" }]);
      this.#dispatched.delete(id);
      this.#timeline.place(id, row.runAt, row.priority);
      this.#publish([T.requeuedEvent(row, now)]);
      await this.#dispatch();
      return { job: { ...held.row } };
    }
    if (!prior) return { error: "not_found" };
    return this.#revive(prior, [], { from, runAt, priority, resetRetryCount });
  }

  async remove(input: P.RemoveLiveInput): Promise<P.RemoveLiveOutput> {
    const { ids, queue } = P.RemoveLiveInput.parse(input);
    this.#setQueueName(queue);
    const inFlush = new Set(this.#activeFlush?.entry.jobs.map((j) => j.job.id) ?? []);
    const removed = ids.filter((id) => {
      const job = this.#jobs.get(id);
      return job && job.row.status !== "running" && !inFlush.has(id);
    });
    if (removed.length) {
      this.#store.appendJournal({ gone: removed });
      for (const id of removed) this.#forget(id);
      // Removed jobs are never flushed: a cleared backlog's rows would otherwise stay stored (and
      // be read back at every restart) until the queue's next flush. A flush under way rotates after it.
      if (!this.#activeFlush) this.#rotateIfGrown();
      await this.#dispatch();
    }
    return { removed };
  }

  async get(input: P.GetInput): Promise<P.GetOutput> {
    const { ids } = P.GetInput.parse(input);
    return { jobs: ids.flatMap((id) => (this.#jobs.has(id) ? [detailOf(this.#jobs.get(id)!)] : [])) };
  }

  async list(input: P.ListInput): Promise<P.ListOutput> {
    const { filter, limit } = P.ListInput.parse(input);
    const rows: JobRow[] = [];
    for (const job of this.#jobs.values()) if (matchesFilter(job.row, filter)) rows.push(job.row);
    rows.sort(newestFirst);
    return { rows: rows.slice(0, limit).map((r) => ({ ...r })), total: rows.length };
  }

  async sealed(input: P.SealedInput): Promise<P.SealedOutput> {
    this.#setQueueName(P.SealedInput.parse(input).queue);
    const jobs: P.SealedOutput["jobs"] = [];
    for (const { row } of this.#jobs.values()) if (row.parameters.includes('"$sealed"')) jobs.push({ id: row.id, type: row.type, parameters: row.parameters });
    return { jobs };
  }

  async replaceParameters(input: P.ReplaceParametersInput): Promise<P.ReplaceParametersOutput> {
    const { queue, updates } = P.ReplaceParametersInput.parse(input);
    this.#setQueueName(queue);
    const inFlush = new Set(this.#activeFlush?.entry.jobs.map((j) => j.job.id) ?? []);
    const group: T.Transition[] = [];
    for (const u of updates) {
      const job = this.#jobs.get(u.id);
      if (!job || inFlush.has(u.id) || job.row.parameters !== u.from) continue;
      group.push({ change: { id: u.id, set: { parameters: u.to } }, event: null, status: job.row.status });
    }
    if (group.length) this.#journal(group);
    return { replaced: group.map((t) => t.change.id) };
  }

  async stats(input: P.StatsInput): Promise<P.StatsOutput> {
    const { queue } = P.StatsInput.parse(input);
    this.#setQueueName(queue);
    const byType: P.StatsOutput["byType"] = {};
    const unflushedByStatus = { completed: 0, failed: 0, cancelled: 0 };
    const now = Date.now();
    let pending = 0;
    let dueNow = 0;
    let oldestDueRunAt: number | null = null;
    let leaseExpired = 0;
    let oldestLeaseExpiredAt: number | null = null;
    for (const job of this.#jobs.values()) {
      const s = job.row.status;
      if (s !== "pending" && s !== "running") {
        unflushedByStatus[s]++;
        continue;
      }
      if (s === "pending") {
        pending++;
        if (job.row.runAt <= now) {
          dueNow++;
          if (oldestDueRunAt == null || job.row.runAt < oldestDueRunAt) oldestDueRunAt = job.row.runAt;
        }
      } else if (job.row.leaseUntil != null && job.row.leaseUntil < now) {
        leaseExpired++;
        if (oldestLeaseExpiredAt == null || job.row.leaseUntil < oldestLeaseExpiredAt) oldestLeaseExpiredAt = job.row.leaseUntil;
      }
      const t = (byType[job.row.type] ??= { pending: 0, running: 0 });
      t[s]++;
    }
    return {
      ...this.status(),
      pending,
      running: this.#running.size,
      byType,
      unflushed: this.#jobs.size - pending - this.#running.size,
      rowsWritten: this.#store.rowsWritten,
      storedRows: this.#store.rowCount,
      dueNow,
      oldestDueRunAt,
      leaseExpired,
      oldestLeaseExpiredAt,
      unflushedByStatus,
    };
  }

  /** Archives every ended job (and flushes every waiting event) to D1 now. */
  async flush(input: P.FlushInput): Promise<P.FlushOutput> {
    this.#setQueueName(P.FlushInput.parse(input).queue);
    return { archived: await this.#flushAll() };
  }

  /** Arms a kill at a stage boundary (see object-faults.ts; count 0 arms none); only with FAULT_INJECTION. Returns this instance's name. */
  async armFault(input: z.input<typeof ArmFaultInput>): Promise<{ instance: string }> {
    if (!readSettings(this.env).faultInjection) throw new Error("fault injection is off");
    const { queue, kind, count } = ArmFaultInput.parse(input);
    this.#setQueueName(queue);
    if (kind === "now" && count > 0) this.#dieSoon("evicted");
    else this.#faults.arm(kind, count);
    return { instance: this.#instance };
  }

  /**
   * Claims a pending job now, due or not, as a consumer would that then dies (the fault suite's
   * "crash after claim"); only with FAULT_INJECTION. A job already dispatched is left alone.
   */
  async claimForFault(input: z.input<typeof ClaimForFaultInput>): Promise<JobRow | null> {
    if (!readSettings(this.env).faultInjection) throw new Error("fault injection is off");
    const { queue, id } = ClaimForFaultInput.parse(input);
    this.#setQueueName(queue);
    const job = this.#jobs.get(id);
    if (!job || job.row.status !== "pending" || job.row.cancelRequested || this.#dispatched.has(id)) return null;
    const now = Date.now();
    this.#journal([{ change: { id, set: { runAt: now } }, event: null, status: "pending" }, T.claim(job, now)]);
    this.#timeline.drop(id);
    this.#running.add(id);
    await this.#schedule();
    return { ...job.row };
  }

  /** Kills this instance just after the current reply went out. */
  #dieSoon(why: string) {
    setTimeout(() => this.ctx.abort(`fault injected: ${why}`), 20);
  }

  /** Imports what the previous engine left in D1 (once), then does whatever is due. The cron reconciler calls this. */
  async heal(queue: string): Promise<void> {
    this.#setQueueName(z.string().min(1).parse(queue));
    await this.#importLegacy();
    await this.alarm();
  }

  // ---- settings (as before v2)

  async pause(input: z.input<typeof QueueInput>): Promise<{ changed: boolean; status: SchedulerStatus }> {
    return this.#setPaused(QueueInput.parse(input).queue, true);
  }

  async resume(input: z.input<typeof QueueInput>): Promise<{ changed: boolean; status: SchedulerStatus }> {
    return this.#setPaused(QueueInput.parse(input).queue, false);
  }

  /** Sets the concurrency limit and/or the rate limit (null removes it); absent fields stay as they are. */
  async configure(input: z.input<typeof ConfigureInput>): Promise<SchedulerStatus> {
    const { queue, workers, rateLimit } = ConfigureInput.parse(input);
    this.#setQueueName(queue);
    let changed = false;
    if (workers !== undefined && workers !== this.#settings.workers) {
      this.#settings.set("workers", String(workers));
      changed = true;
    }
    if (rateLimit !== undefined && JSON.stringify(rateLimit) !== JSON.stringify(this.#settings.rateLimit)) {
      this.#settings.setRateLimit(rateLimit);
      changed = true;
    }
    if (changed) this.#settings.bumpVersion();
    await this.#dispatch();
    return this.status();
  }

  status(): SchedulerStatus {
    return {
      queue: this.#settings.queue,
      paused: this.#settings.paused,
      workers: this.#settings.workers,
      rateLimit: this.#settings.rateLimit,
      version: this.#settings.version,
      due: this.#timeline.size,
      inflight: this.#dispatched.size + this.#running.size,
    };
  }

  /** The object's clock: lease expiry, lost dispatches, the flush, the legacy import, due dispatch. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    this.#expireLeases(now);
    this.#resendLost(now);
    // Due jobs first: a flush waits for D1.
    await this.#handOutDue();
    if (this.#activeFlush || (this.#waitingSince != null && now - this.#waitingSince >= ARCHIVE_FLUSH_MS) || this.#flushFull()) {
      await this.#flushOnce().catch((err) => console.error("archive flush failed; it is tried again", err));
    }
    if (this.#settings.queue && this.#settings.get("legacy_imported") !== "1") {
      await this.#importLegacy().catch((err) => console.error("legacy import failed; it is tried again", err));
    }
    await this.#dispatch();
  }

  // ---- internals: holding jobs

  /** Adds a job to the in-memory index by its status. */
  #hold(job: LiveJob) {
    const id = job.row.id;
    this.#jobs.set(id, job);
    if (job.row.status === "pending") this.#timeline.place(id, job.row.runAt, job.row.priority, job.arrival);
    else if (job.row.status === "running") this.#running.add(id);
    else this.#finished.add(id);
  }

  #forget(id: string) {
    this.#jobs.delete(id);
    this.#timeline.drop(id);
    this.#running.delete(id);
    this.#dispatched.delete(id);
    this.#finished.delete(id);
  }

  /** After a job's attempt ended, was expired or cancelled: it waits for a retry or for the flush. */
  #afterEnd(id: string) {
    const job = this.#jobs.get(id)!;
    this.#running.delete(id);
    this.#dispatched.delete(id);
    if (job.row.status === "pending") this.#timeline.place(id, job.row.runAt, job.row.priority, job.arrival);
    else {
      this.#timeline.drop(id);
      this.#finished.add(id);
      this.#noteWaiting();
    }
  }

  /**
   * Journals one group of transitions (one row), applies it, and publishes its events after the
   * commit (not awaited: the output gate already holds the reply until the row is durable).
   */
  #journal(group: T.Transition[]) {
    // A large group is several entries (in one transaction), so a flush can always take its
    // events by whole entries and stay bounded.
    const append = () => {
      for (let i = 0; i < group.length; i += ENTRY_MAX_CHANGES) {
        const part = group.slice(i, i + ENTRY_MAX_CHANGES);
        const changes = part.map((t) => t.change);
        const events = part.flatMap((t) => (t.event ? [t.event] : []));
        const seq = this.#store.appendJournal(events.length ? { c: changes, ev: events } : { c: changes });
        for (const event of events) this.#events.push({ seq, event });
      }
    };
    if (group.length > ENTRY_MAX_CHANGES) this.#store.transaction(append);
    else append();
    for (const { change } of group) {
      const job = this.#jobs.get(change.id);
      if (job) applyChange(job, change);
    }
    const events = group.flatMap((t) => (t.event ? [t.event] : []));
    if (events.length) {
      this.#noteWaiting();
      this.#publish(events);
    }
  }

  #publish(events: DomainEvent[]) {
    this.#live.publish(events);
  }

  async #revive(prior: JobRow, attempts: AttemptRow[], change: { from: JobStatus[]; runAt: number; priority?: number; resetRetryCount: boolean }): Promise<P.RequeueOutput> {
    // Revived meanwhile (a concurrent requeue of the same job): it is live, not ended.
    const live = this.#jobs.get(prior.id);
    if (live) return { error: "conflict", status: live.row.status };
    if (!change.from.includes(prior.status)) return { error: "conflict", status: prior.status };
    const now = Date.now();
    const row = T.requeueSet(prior, { ...change, now });
    // The archive synthesizes a one-attempt job's history from its row; once revived, the job has
    // more than one attempt, so that first attempt's row is kept here to be written with it.
    const history = attempts.length ? attempts : singleAttemptOf(prior);
    const job = fromHeld({ row, attempts: history, logs: [], started: false }, ++this.#arrival);
    this.#store.appendSegment({ held: [heldOf(job)] });
    this.#hold(job);
    this.#publish([T.requeuedEvent(row, now)]);
    await this.#dispatch();
    return { job: { ...row } };
  }

  /**
   * Claims (not yet journaled) for up to `max` jobs for a consumer invocation that asked. First
   * jobs dispatched but not claimed yet, oldest first: their message waits for a free invocation
   * (under `wrangler dev`, for this one to end) and claims nothing once it comes. Then due jobs,
   * within the slots (`ending` attempts about to end give theirs back) and the rate limit, taken
   * off the timeline at once so that no dispatch sends them.
   */
  #claimDue(max: number, now: number, ending = 0): T.Transition[] {
    if (!this.#settings.queue || this.#settings.paused) return [];
    const claims: T.Transition[] = [];
    for (const [id, d] of this.#dispatched) {
      if (claims.length >= max) break;
      const job = this.#jobs.get(id);
      if (!job || !T.canClaim(job, d.attempt, now)) continue;
      this.#dispatched.delete(id);
      claims.push(T.claim(job, now));
    }
    const stolen = claims.length;
    const free = Math.min(max - stolen, this.#settings.workers - this.#dispatched.size - stolen - this.#running.size + ending, this.#settings.rateRoom(now));
    if (free <= 0) return claims;
    for (const id of this.#timeline.takeDue(now, free)) {
      this.#settings.recordStart(id, now);
      claims.push(T.claim(this.#jobs.get(id)!, now));
    }
    return claims;
  }

  /**
   * After journaling claims made for a consumer invocation itself: the jobs run there at once, so
   * their handlers count as started (see `started`) and an attempt that kills its invocation still
   * uses up its retries. Returns the claimed rows.
   */
  #runClaimed(claims: T.Transition[]): JobRow[] {
    if (!claims.length) return [];
    if (this.#faults.take("after-claim-commit")) this.ctx.abort("fault injected: after a claim committed");
    return claims.map(({ change }) => {
      const job = this.#jobs.get(change.id)!;
      this.#running.add(change.id);
      job.handlerStarted = true;
      return { ...job.row };
    });
  }

  /** Gives due jobs to waiting consumer invocations, in the order they asked; returns the ids left over. */
  #serveWaiters(ids: string[], now: number): string[] {
    let i = 0;
    while (i < ids.length && this.#waiters.length) {
      // A served invocation asks again as soon as its jobs started.
      this.#chainHoldUntil = now + CHAIN_HOLD_MS;
      const waiter = this.#waiters.shift()!;
      clearTimeout(waiter.timer);
      const claims = ids.slice(i, i + waiter.take).map((id) => T.claim(this.#jobs.get(id)!, now));
      i += claims.length;
      this.#journal(claims);
      waiter.resolve(this.#runClaimed(claims));
    }
    return ids.slice(i);
  }

  #slotTaken(slot: string, now: number): boolean {
    return this.ctx.storage.sql.exec(`SELECT 1 FROM recurring_slots WHERE slot = ? AND at >= ?`, slot, now - RECURRING_SLOT_MS).toArray().length > 0;
  }

  // ---- internals: the clock's work

  #expireLeases(now: number) {
    const settings = readSettings(this.env);
    const expired: T.Transition[] = [];
    for (const id of this.#running) {
      const job = this.#jobs.get(id)!;
      if (job.row.leaseUntil != null && job.row.leaseUntil < now) expired.push(T.expire(job, now, settings));
    }
    if (!expired.length) return;
    this.#journal(expired);
    for (const t of expired) this.#afterEnd(t.change.id);
  }

  /** Dispatches never claimed within LOST_AFTER_MS lost their message: they go back on the timeline to be sent again. */
  #resendLost(now: number) {
    for (const [id, d] of this.#dispatched) {
      if (d.at > now - LOST_AFTER_MS) continue;
      this.#dispatched.delete(id);
      const job = this.#jobs.get(id);
      if (job?.row.status === "pending") this.#timeline.place(id, job.row.runAt, job.row.priority, job.arrival);
    }
  }

  /** Hands what is due to waiting consumers and the exec queue, as far as slots and the rate limit allow, then sets the alarm. */
  async #dispatch(): Promise<void> {
    await this.#handOutDue();
    await this.#schedule();
  }

  async #handOutDue(): Promise<void> {
    const queue = this.#settings.queue;
    const now = Date.now();
    if (queue && !this.#settings.paused) {
      const free = Math.min(this.#settings.workers - this.#dispatched.size - this.#running.size, this.#settings.rateRoom(now));
      const forWaiters = Math.min(free, this.#waiters.reduce((n, w) => n + w.take, 0));
      const sendable = now >= this.#retryAfter && now >= this.#chainHoldUntil ? free - forWaiters : 0;
      const taken = free > 0 ? this.#timeline.takeDue(now, forWaiters + sendable) : [];
      for (const id of taken) this.#settings.recordStart(id, now);
      const ids = this.#serveWaiters(taken, now);
      if (ids.length) {
        // Taken synchronously, before any await, so interleaved calls cannot send a job twice.
        const messages = packExecMessages(queue, ids.map((id) => [id, this.#jobs.get(id)!.row.attempt]));
        for (const m of messages) for (const [id, attempt] of m.jobs) this.#dispatched.set(id, { token: m.token, attempt, at: now });
        for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
          const chunk = messages.slice(i, i + SEND_BATCH_LIMIT);
          try {
            await this.env.EXEC_QUEUE.sendBatch(chunk.map((body) => ({ body })));
          } catch (err) {
            console.error(`exec queue send failed (dispatches ${chunk.map((m) => m.token).join(", ")}); will retry`, err);
            this.#retryAfter = Date.now() + RETRY_MS;
            for (const m of messages.slice(i)) {
              for (const [id] of m.jobs) {
                if (this.#dispatched.get(id)?.token !== m.token) continue;
                this.#dispatched.delete(id);
                this.#settings.forgetStart(id, now);
                const job = this.#jobs.get(id);
                if (job?.row.status === "pending") this.#timeline.place(id, job.row.runAt, job.row.priority, job.arrival);
              }
            }
            break;
          }
        }
      }
    }
  }

  /** Runs a dispatch after the reply (slots were freed): the caller does not wait for the queue send. */
  #kick() {
    this.ctx.waitUntil(this.#dispatch().catch((err) => console.error("dispatch failed", err)));
  }

  /** Sets the one alarm to the earliest moment there is something to do. */
  async #schedule(): Promise<void> {
    const now = Date.now();
    const times: number[] = [];
    if (!this.#settings.paused && this.#settings.workers > this.#dispatched.size + this.#running.size) {
      const t = this.#timeline.earliest();
      // Sends wait out a failed send's backoff and a consumer's hold; a waiting consumer takes jobs at their time.
      const notBefore = this.#waiters.length ? 0 : Math.max(this.#retryAfter, this.#chainHoldUntil);
      if (t != null) times.push(Math.max(t, notBefore, this.#settings.rateFreeAt(now)));
    }
    for (const id of this.#running) {
      const lease = this.#jobs.get(id)!.row.leaseUntil;
      if (lease != null) times.push(lease + 1);
    }
    for (const d of this.#dispatched.values()) times.push(d.at + LOST_AFTER_MS);
    if (this.#activeFlush) times.push(now + RETRY_MS);
    else if (this.#waitingSince != null) times.push(this.#flushFull() ? now : this.#waitingSince + ARCHIVE_FLUSH_MS);
    const next = times.length ? Math.max(now, times.reduce((a, b) => Math.min(a, b))) : null;
    if (next == null) {
      if (this.#alarmAt != null) await this.#deleteAlarm();
    } else if (this.#alarmAt == null || next < this.#alarmAt) {
      // An alarm set later than needed only wakes the object for nothing: only an earlier moment
      // moves it. One already due (even past) fires anyway, and each setAlarm is billed as a
      // storage write, so a due alarm is left as it is.
      await this.#setAlarm(next);
    }
  }

  /**
   * The time is noted before the write is awaited: calls that run meanwhile see the alarm the
   * storage will hold once the writes issued so far apply (they apply in the order issued).
   */
  async #setAlarm(at: number) {
    // Noted before the write, so changes made meanwhile do not set it again; forgotten if the write
    // fails, so the next change sets it instead of believing an alarm is there.
    this.#alarmAt = at;
    try {
      await this.ctx.storage.setAlarm(at);
    } catch (err) {
      if (this.#alarmAt === at) this.#alarmAt = null;
      throw err;
    }
  }

  async #deleteAlarm() {
    this.#alarmAt = null;
    await this.ctx.storage.deleteAlarm();
  }

  // ---- internals: the flush to D1

  #waitingCount(): number {
    return this.#finished.size + this.#events.length;
  }

  /**
   * Whether what waits fills a flush (ARCHIVE_FLUSH_JOBS ended jobs or ARCHIVE_FLUSH_EVENTS
   * events): a flush is due at once then. Fuller flushes cost fewer D1 statements and rows per
   * job. While due jobs wait for a slot, handing them out comes first: the flush waits for
   * FLUSH_DEFER_FACTOR flushes' worth (or ARCHIVE_FLUSH_MS), so a burst of due jobs does not
   * share the object's thread with building and journaling a flush.
   */
  #flushFull(): boolean {
    const factor = this.#timeline.hasDue(Date.now()) ? FLUSH_DEFER_FACTOR : 1;
    return this.#finished.size >= factor * ARCHIVE_FLUSH_JOBS || this.#events.length >= factor * ARCHIVE_FLUSH_EVENTS;
  }

  #noteWaiting() {
    if (this.#waitingSince == null) this.#waitingSince = Date.now();
    if (this.#flushFull()) this.ctx.waitUntil(this.#schedule());
  }

  /**
   * Flushes what waits now (and the flush in progress); returns how many jobs were archived. Bounded
   * by what waited when it was called, so a busy queue's callers are not kept flushing for ever.
   */
  async #flushAll(): Promise<number> {
    let archived = 0;
    let rounds = 2 + Math.ceil(this.#waitingCount() / ARCHIVE_FLUSH_JOBS);
    while (rounds-- > 0 && (this.#activeFlush || this.#waitingCount() || this.#flushing)) archived += await this.#flushOnce();
    return archived;
  }

  /** One flush (the unfinished one first); concurrent callers share it. */
  #flushOnce(): Promise<number> {
    this.#flushing ??= this.#runFlush().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #runFlush(): Promise<number> {
    const queue = this.#settings.queue;
    if (!queue) return 0;
    if (!this.#activeFlush) {
      if (!this.#waitingCount()) return 0;
      this.#activeFlush = this.#startFlush(queue);
    }
    const { seq, entry } = this.#activeFlush;
    const { through, ...input } = entry;
    await writeArchiveFlush(this.env, input, eventOutbox);
    if (this.#faults.take("after-flush-commit")) this.ctx.abort("fault injected: after the archive flush committed in D1");
    // Done: the jobs leave the object; rows that name only archived jobs go in the same transaction.
    const ids = entry.jobs.map((j) => j.job.id);
    for (const id of ids) if (this.#jobs.get(id) && isTerminalStatus(this.#jobs.get(id)!.row.status)) this.#forget(id);
    this.#through = Math.max(this.#through, through);
    this.#store.transaction(() => {
      this.#store.appendJournal({ gone: ids, flushed: seq, through: this.#through });
      this.#rotateIfGrown();
    });
    this.#activeFlush = null;
    // The webhook outbox rows exist now: send them (live subscribers had the events at once).
    if (entry.events.length) this.ctx.waitUntil(deliverFlushedEvents(this.env, entry.events));
    return ids.length;
  }

  /** Journals the next flush (ended jobs and waiting events) so a replay after a crash sends the same content. */
  #startFlush(queue: string): ActiveFlush {
    const plan = planFlush([...this.#finished].map((id) => this.#jobs.get(id)!), this.#events, this.#store.seq);
    for (const { job } of plan.jobs) this.#finished.delete(job.id);
    this.#events.splice(0, plan.eventsTaken);
    this.#waitingSince = this.#waitingCount() ? Date.now() : null;
    // The flush's id is the seq of its journal entry's first row: never given to another row.
    const seq = this.#store.seq + 1;
    const entry: FlushEntry = { queue, seq, at: Date.now(), jobs: plan.jobs, maybeArchived: plan.maybeArchived, events: plan.events, through: plan.through };
    this.#store.appendJournalJson(flushJournalJson(entry, plan.jobsJson));
    return { seq, entry };
  }

  // ---- internals: rebuild and the one-time import

  /** Rebuilds the held jobs from the live log, in seq order. */
  #rebuild() {
    const entries = this.#store.load(SeqFloor.parse(this.#settings.get("seq_floor") ?? 0));
    const withEvents: { seq: number; events: DomainEvent[] }[] = [];
    for (const e of entries) {
      if ("segment" in e) {
        const s = e.segment;
        if (Array.isArray(s)) for (const row of s) this.#jobs.set(row.id, newLiveJob(row, ++this.#arrival));
        else for (const held of s.held) this.#jobs.set(held.row.id, fromHeld(held, ++this.#arrival));
        continue;
      }
      const j = e.journal;
      if ("c" in j) {
        for (const change of j.c) {
          const job = this.#jobs.get(change.id);
          if (job) applyChange(job, change);
        }
        if (j.ev?.length) withEvents.push({ seq: e.seq, events: j.ev });
      } else if ("gone" in j) {
        for (const id of j.gone) this.#jobs.delete(id);
        if (j.flushed != null && this.#activeFlush?.seq === j.flushed) this.#activeFlush = null;
        if (j.through != null) this.#through = Math.max(this.#through, j.through);
      } else this.#activeFlush = { seq: j.flush.seq, entry: j.flush };
    }
    const through = Math.max(this.#through, this.#activeFlush?.entry.through ?? 0);
    for (const { seq, events } of withEvents) if (seq > through) for (const event of events) this.#events.push({ seq, event });
    const flushing = new Set(this.#activeFlush?.entry.jobs.map((a) => a.job.id) ?? []);
    const jobs = [...this.#jobs.values()];
    this.#jobs.clear();
    for (const job of jobs) {
      // Whether a running attempt's handler started is not stored: count it as started.
      if (job.row.status === "running") job.handlerStarted = true;
      this.#hold(job);
      if (flushing.has(job.row.id)) this.#finished.delete(job.row.id);
    }
    if (this.#waitingCount()) this.#waitingSince = Date.now();
  }

  /** Rotates the live log once it has grown past what its snapshot would take (see LiveStore.shouldRotate). */
  #rotateIfGrown() {
    if (this.#store.shouldRotate(this.#jobs.size, this.#events.length)) this.#store.transaction(() => this.#rotate());
  }

  /** Replaces the live log by a snapshot of what is held now (see LiveStore.rotate). Inside a transaction. */
  #rotate() {
    const held = [...this.#jobs.values()].sort((a, b) => a.arrival - b.arrival).map(heldOf);
    const seqs = this.#store.rotate(held, this.#events.map((e) => e.event));
    this.#events.forEach((e, i) => (e.seq = seqs[i]));
    this.#settings.set("seq_floor", String(this.#store.seq));
  }

  #importLegacy(): Promise<void> {
    this.#importing ??= this.#runImport().finally(() => {
      this.#importing = null;
    });
    return this.#importing;
  }

  /**
   * Moves the pending and running rows the previous engine left in D1 for this queue into the
   * object, once: a segment first, then the D1 rows are deleted. A crash in between imports them
   * again harmlessly (held ids are skipped, and deleted again).
   */
  async #runImport(): Promise<void> {
    const queue = this.#settings.queue;
    if (!queue || this.#settings.get("legacy_imported") === "1") return;
    for (;;) {
      const batch = await readLegacyJobs(this.env, queue, (id) => this.#jobs.has(id));
      const fresh = batch.jobs.filter((j) => !this.#jobs.has(j.id));
      if (fresh.length) {
        const held = fresh.map((row) => ({
          row,
          attempts: batch.attempts.filter((a) => a.jobId === row.id),
          logs: [],
          started: batch.started.some(([id, a]) => id === row.id && a === row.attempt),
        }));
        this.#store.appendSegment({ held });
        for (const h of held) this.#hold(fromHeld(h, ++this.#arrival));
      }
      await deleteLegacyRows(this.env, batch.readIds);
      if (batch.readIds.length < LEGACY_IMPORT_BATCH) break;
    }
    this.#settings.set("legacy_imported", "1");
    await this.#dispatch();
  }

  async #setPaused(queue: string, paused: boolean) {
    this.#setQueueName(queue);
    const changed = this.#settings.paused !== paused;
    if (changed) {
      this.#settings.set("paused", paused ? "1" : "0");
      this.#settings.bumpVersion();
    }
    await this.#dispatch();
    return { changed, status: this.status() };
  }

  #setQueueName(queue: string) {
    if (this.#settings.queue === queue) return;
    this.#settings.set("queue", queue);
    // A queue that is new to this object may have rows the previous engine left in D1.
    if (this.#settings.get("legacy_imported") !== "1") this.ctx.waitUntil(this.#setAlarm(Date.now()));
  }
}
