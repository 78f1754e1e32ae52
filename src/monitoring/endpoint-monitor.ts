import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { readSettings } from "../config";
import { deliverEvents } from "../events/publisher";
import { migrateSqlite } from "../lib/sqlite-migrations";
import { HOUR_MS } from "../metrics/rollups";
import { CheckResultSchema, RemoveInput, ReportInput, ShardInput, StatsInput, UpsertInput, type CheckResult, type CheckTask, type EndpointChecksMessage } from "./check-messages";
import { CheckRollups, hourOf, KEEP_MINUTES_MS, MINUTE_MS, packCheck } from "./check-rollups";
import { EndpointConfigSchema, ENDPOINT_STATUSES, type LiveState } from "./endpoint-model";
import { listShardEndpoints } from "./endpoint-store";
import { flushStatements, type PendingChange } from "./flush";
import { MonitorState, type SavedEntry } from "./monitor-state";
import { HourRollupSchema, type HourRollup, type MinuteRollup } from "./rollup-data";

/** Checks per exec message: a group small enough that one consumer invocation finishes it well within the interval. */
export const CHECKS_PER_MESSAGE = 25;
/** Status changes written per flush; more wait for the next one, which follows at once (D1 allows 1,000 queries per invocation). */
const MAX_CHANGES_PER_FLUSH = 200;
const RETRY_AFTER_ERROR_MS = 5_000;
/**
 * An endpoint's D1 row gets its status columns at the flush after a change, and its counters and
 * last check with every COUNTERS_EVERY_FLUSHES-th flush: a row per endpoint and flush would be most
 * of the monitor's cost, and readers of live values ask this object, not D1.
 */
export const COUNTERS_EVERY_FLUSHES = 10;
export const LATENESS_SAMPLES = 10_000;
const SEND_BATCH_LIMIT = 100;

const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
    `CREATE TABLE endpoints (id TEXT PRIMARY KEY, config TEXT NOT NULL) WITHOUT ROWID`,
    // The live state of every endpoint as of the last flush, packed in one row: a flush writes one row, not one per endpoint.
    `CREATE TABLE snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)`,
    `CREATE TABLE hours (hour_start INTEGER PRIMARY KEY, data TEXT NOT NULL)`,
    // One row per report whose results are not flushed yet, or whose minutes are still held: replayed after an eviction.
    `CREATE TABLE journal (seq INTEGER PRIMARY KEY, max_at INTEGER NOT NULL, results TEXT NOT NULL)`,
  ],
];

const LiveStateSchema = z.object({
  status: z.enum(ENDPOINT_STATUSES),
  previousStatus: z.enum(ENDPOINT_STATUSES).nullable(),
  statusChangedAt: z.number().nullable(),
  lastCheckedAt: z.number().nullable(),
  lastResponseTimeMs: z.number().nullable(),
  consecutiveFailures: z.number().int(),
  checksSuccess: z.number().int(),
  checksFailure: z.number().int(),
}) satisfies z.ZodType<LiveState>;
const SnapshotSchema = z.record(z.string(), z.object({ live: LiveStateSchema, lastDueAt: z.number(), nextDueAt: z.number() }) satisfies z.ZodType<SavedEntry>);
const json = <S extends z.ZodType>(schema: S) => z.string().transform((s) => JSON.parse(s) as unknown).pipe(schema);
const StoredNumber = z.coerce.number().int();

export type SchedulingStats = { shard: number; endpoints: number; enabled: number; checks: number; samples: number; latenessMs: { p50: number | null; p99: number | null; max: number | null } };

/**
 * One per shard (MONITOR_SHARDS). Owns the schedule and the live state of its endpoints: its alarm
 * sends due checks, in groups, on the exec queue; the consumer reports results back here; this
 * object turns them into status changes and flushes them to D1 in batches. Its own storage keeps
 * everything a flush has not yet written, so an eviction loses nothing; an empty one is rebuilt from D1.
 */
export class EndpointMonitor extends DurableObject<Env> {
  #sql: SqlStorage;
  #state = new MonitorState();
  #rollups = new CheckRollups();
  /** Endpoints checked since their row was last written, and those whose status (or enabled state) changed since. */
  #dirty = new Set<string>();
  #statusDirty = new Set<string>();
  #lastCountersAt = 0;
  #changes: PendingChange[] = [];
  #shard: number | null = null;
  #loading: Promise<void> | null = null;
  #lastFlushAt = 0;
  #flushing: Promise<void> | null = null;
  #journalSeq = 0;
  #lateness: number[] = [];
  #checks = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrateSqlite(ctx.storage, MIGRATIONS, this.#sql);
      const shard = this.#meta("shard");
      if (shard !== null) this.#restore(shard, Date.now());
    });
  }

  /** A new or changed endpoint of this shard: scheduled at once (a new or re-enabled one is checked now). */
  async upsert(input: z.input<typeof UpsertInput>): Promise<void> {
    const { config, reEnabled } = UpsertInput.parse(input);
    await this.#ready(config.shard);
    const now = Date.now();
    this.#state.upsert(config, now, { reEnabled });
    if (reEnabled) this.#statusDirty.add(config.id);
    this.#sql.exec(`INSERT OR REPLACE INTO endpoints (id, config) VALUES (?, ?)`, config.id, JSON.stringify(config));
    await this.#arm(now);
  }

  async remove(input: z.input<typeof RemoveInput>): Promise<void> {
    const { shard, endpointId } = RemoveInput.parse(input);
    await this.#ready(shard);
    this.#state.remove(endpointId);
    this.#rollups.removeEndpoint(endpointId);
    this.#dirty.delete(endpointId);
    this.#statusDirty.delete(endpointId);
    this.#changes = this.#changes.filter((c) => c.endpointId !== endpointId);
    this.#sql.exec(`DELETE FROM endpoints WHERE id = ?`, endpointId);
    await this.#arm(Date.now());
  }

  /** The results of one exec message. Late and repeated results are ignored; a status change is flushed at once. */
  async report(input: z.input<typeof ReportInput>): Promise<{ accepted: number }> {
    const { shard, results } = ReportInput.parse(input);
    await this.#ready(shard);
    const accepted = this.#apply(results, { replay: false });
    if (accepted.length) {
      this.#sql.exec(`INSERT INTO journal (seq, max_at, results) VALUES (?, ?, ?)`, ++this.#journalSeq, Math.max(...accepted.map((r) => r.startedAt)), JSON.stringify(accepted));
    }
    await this.#arm(Date.now());
    return { accepted: accepted.length };
  }

  /** The live state of every endpoint of the shard, fresher than D1's copy (which is as of the last flush). */
  async live(input: z.input<typeof ShardInput>): Promise<{ id: string; live: LiveState }[]> {
    const { shard } = ShardInput.parse(input);
    await this.#ready(shard);
    return [...this.#state.entries.values()].map((e) => ({ id: e.config.id, live: e.live }));
  }

  /** The checks of one endpoint this object holds: those of the last KEEP_MINUTES_MS, including any not in D1's minute rows yet. */
  async unflushedChecks(input: { shard: number; endpointId: string }): Promise<[number, 0 | 1, number | null, string | null][]> {
    const { shard, endpointId } = RemoveInput.parse(input);
    await this.#ready(shard);
    return [...this.#rollups.minutes.values()].flatMap((row) => row[endpointId]?.c ?? []);
  }

  /** How late checks started (start minus due), over the last `samples` accepted checks. */
  async stats(input: z.input<typeof StatsInput>): Promise<SchedulingStats> {
    const { shard, samples } = StatsInput.parse(input);
    await this.#ready(shard);
    const sorted = this.#lateness.slice(-samples).sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
    const entries = [...this.#state.entries.values()];
    return { shard, endpoints: entries.length, enabled: entries.filter((e) => e.config.enabled).length, checks: this.#checks, samples: sorted.length, latenessMs: { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? null } };
  }

  /**
   * Called by the every-minute cron: loads the shard (from D1 if its storage is empty) and sets its
   * alarm if it has none, so an alarm the platform gave up retrying does not stop the checks.
   */
  async ensureRunning(input: z.input<typeof ShardInput>): Promise<void> {
    const { shard } = ShardInput.parse(input);
    await this.#ready(shard);
    await this.#arm(Date.now());
  }

  /** Flushes whatever is pending now, every endpoint's counters included (tests, and before an operator looks at D1). */
  async flushNow(input: z.input<typeof ShardInput>): Promise<void> {
    const { shard } = ShardInput.parse(input);
    await this.#ready(shard);
    this.#lastCountersAt = 0;
    await this.#flush(Date.now());
  }

  override async alarm(): Promise<void> {
    if (this.#shard === null) return;
    await this.#ready(this.#shard);
    const now = Date.now();
    try {
      if (this.#flushDue(now)) await this.#flush(now);
    } catch (err) {
      console.error(`endpoint monitor ${this.#shard}: flush failed; it is tried again`, err);
    }
    const tasks = this.#state.takeDue(now);
    if (tasks.length) await this.#send(tasks, now);
    await this.#arm(Date.now(), true);
  }

  #apply(results: CheckResult[], { replay }: { replay: boolean }): CheckResult[] {
    const { accepted, changes } = this.#state.accept(results);
    for (const r of accepted) {
      this.#dirty.add(r.endpointId);
      this.#rollups.addStats(r.endpointId, r);
      this.#rollups.addRaw(r.endpointId, packCheck(r));
      if (!replay) {
        this.#checks++;
        this.#lateness.push(Math.max(0, r.startedAt - r.dueAt));
        if (this.#lateness.length >= 2 * LATENESS_SAMPLES) this.#lateness.splice(0, LATENESS_SAMPLES);
      }
    }
    this.#changes.push(...changes);
    for (const c of changes) this.#statusDirty.add(c.endpointId);
    return accepted;
  }

  async #send(tasks: CheckTask[], now: number): Promise<void> {
    const messages: { body: EndpointChecksMessage }[] = [];
    for (let i = 0; i < tasks.length; i += CHECKS_PER_MESSAGE) {
      messages.push({ body: { kind: "endpoint-checks", shard: this.#shard!, checks: tasks.slice(i, i + CHECKS_PER_MESSAGE) } });
    }
    for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
      const chunk = messages.slice(i, i + SEND_BATCH_LIMIT);
      try {
        await this.env.EXEC_QUEUE.sendBatch(chunk);
      } catch (err) {
        // Their results will not come: the redispatch rule sends them again shortly.
        console.error(`endpoint monitor ${this.#shard}: sending ${chunk.length} check messages failed`, err);
        for (const m of chunk) for (const t of m.body.checks) this.#state.deferRedispatch(t.endpointId, now + RETRY_AFTER_ERROR_MS);
      }
    }
  }

  #flushDue(now: number): boolean {
    if (this.#changes.length) return true;
    if (now < this.#lastFlushAt + this.#flushMs()) return false;
    return this.#statusDirty.size > 0 || (this.#dirty.size > 0 && this.#countersDue(now)) || this.#rollups.dirtyHours.size > 0 || this.#rollups.closedDirtyMinutes(now).length > 0;
  }

  #countersDue(now: number): boolean {
    return now >= this.#lastCountersAt + COUNTERS_EVERY_FLUSHES * this.#flushMs();
  }

  #flushMs(): number {
    return readSettings(this.env).monitoring.flushMs;
  }

  /** One D1 batch with everything pending; only after it commits is the object's own snapshot moved on. */
  #flush(now: number): Promise<void> {
    this.#flushing ??= this.#flushOnce(now).finally(() => (this.#flushing = null));
    return this.#flushing;
  }

  async #flushOnce(now: number): Promise<void> {
    const shard = this.#shard!;
    const changes = this.#changes.splice(0, MAX_CHANGES_PER_FLUSH);
    const countersDue = this.#countersDue(now);
    const dirty = [...new Set([...this.#statusDirty, ...(countersDue ? this.#dirty : [])])];
    for (const id of dirty) {
      this.#dirty.delete(id);
      this.#statusDirty.delete(id);
    }
    const dirtyHours = [...this.#rollups.dirtyHours];
    this.#rollups.dirtyHours.clear();
    const hours: [number, HourRollup][] = dirtyHours.map((h) => [h, structuredClone(this.#rollups.hours.get(h) ?? {})]);
    const minutes: [number, MinuteRollup][] = this.#rollups.closedDirtyMinutes(now).map(([m, row]) => [m, structuredClone(row)]);
    for (const [m] of minutes) this.#rollups.dirtyMinutes.delete(m);
    const live = dirty.flatMap((id) => {
      const e = this.#state.entries.get(id);
      return e ? [{ id, live: e.live }] : [];
    });
    const saved = JSON.stringify(this.#state.saved());
    const flushedSeq = this.#journalSeq;
    const { statements, events } = flushStatements(this.env, { shard, live, changes, minutes, hours });
    try {
      if (statements.length) await this.env.DB.batch(statements);
    } catch (err) {
      this.#changes.unshift(...changes);
      for (const id of dirty) if (this.#state.entries.has(id)) this.#statusDirty.add(id);
      for (const h of dirtyHours) this.#rollups.dirtyHours.add(h);
      for (const [m] of minutes) this.#rollups.dirtyMinutes.add(m);
      this.#lastFlushAt = now - this.#flushMs() + RETRY_AFTER_ERROR_MS;
      throw err;
    }
    this.#lastFlushAt = now;
    if (countersDue) this.#lastCountersAt = now;
    this.#rollups.forget(now);
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec(`INSERT OR REPLACE INTO snapshot (id, data) VALUES (1, ?)`, saved);
      for (const [h, data] of hours) this.#sql.exec(`INSERT OR REPLACE INTO hours (hour_start, data) VALUES (?, ?)`, h, JSON.stringify(data));
      this.#sql.exec(`DELETE FROM hours WHERE hour_start < ?`, hourOf(now) - HOUR_MS);
      this.#setMeta("flushed_seq", flushedSeq);
      this.#setMeta("raw_floor", this.#rollups.rawFloor);
      this.#sql.exec(`DELETE FROM journal WHERE seq <= ? AND max_at < ?`, flushedSeq, this.#rollups.rawFloor);
    });
    if (events.length) this.ctx.waitUntil(deliverEvents(this.env, events));
  }

  /** Sets the alarm to the next due check, overdue result or flush; `fresh` after the alarm ran (it is then unset). */
  async #arm(now: number, fresh = false): Promise<void> {
    const candidates: number[] = [];
    const wake = this.#state.nextWakeAt();
    if (wake !== null) candidates.push(wake);
    if (this.#changes.length) candidates.push(now);
    else if (this.#statusDirty.size || this.#rollups.dirtyHours.size || this.#rollups.dirtyMinutes.size) candidates.push(this.#lastFlushAt + this.#flushMs());
    else if (this.#dirty.size) candidates.push(Math.max(this.#lastFlushAt + this.#flushMs(), this.#lastCountersAt + COUNTERS_EVERY_FLUSHES * this.#flushMs()));
    if (!candidates.length) {
      if (fresh || (await this.ctx.storage.getAlarm()) !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = Math.max(now, Math.min(...candidates));
    const current = fresh ? null : await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  async #ready(shard: number): Promise<void> {
    if (this.#shard !== null) return;
    this.#loading ??= this.#rebuildFromD1(shard).finally(() => (this.#loading = null));
    await this.#loading;
  }

  /** An empty object (new shard, or its storage lost): the endpoints come from D1, with their live state as of D1's last flush. */
  async #rebuildFromD1(shard: number): Promise<void> {
    const now = Date.now();
    const [stored, hourRow, lastMinute] = await Promise.all([
      listShardEndpoints(this.env, shard),
      this.env.DB.prepare(`SELECT data FROM endpoint_rollups WHERE bucket = 'hour' AND bucket_start = ? AND shard = ?`).bind(hourOf(now), shard).first<{ data: string }>(),
      this.env.DB.prepare(`SELECT MAX(bucket_start) AS m FROM endpoint_rollups WHERE bucket = 'minute' AND shard = ?`).bind(shard).first<{ m: number | null }>(),
    ]);
    if (this.#shard !== null) return;
    this.ctx.storage.transactionSync(() => {
      for (const e of stored) this.#sql.exec(`INSERT OR REPLACE INTO endpoints (id, config) VALUES (?, ?)`, e.config.id, JSON.stringify(e.config));
      if (hourRow) this.#sql.exec(`INSERT OR REPLACE INTO hours (hour_start, data) VALUES (?, ?)`, hourOf(now), hourRow.data);
      this.#setMeta("shard", shard);
    });
    for (const e of stored) this.#state.upsert(e.config, now, { live: e.live });
    if (hourRow) this.#rollups.hours.set(hourOf(now), HourRollupSchema.parse(JSON.parse(hourRow.data)));
    this.#shard = shard;
    this.#lastFlushAt = now;
    // D1's minute rows from before may hold checks this object never saw: rewriting them whole would lose those.
    this.#rollups.rawFloor = Math.max(now - KEEP_MINUTES_MS, lastMinute?.m != null ? lastMinute.m + MINUTE_MS : 0);
    this.#setMeta("raw_floor", this.#rollups.rawFloor);
    await this.#arm(now);
  }

  /** After an eviction: the endpoints and the snapshot of the last flush, then the journal of what came after it. */
  #restore(shard: number, now: number): void {
    this.#shard = shard;
    this.#lastFlushAt = now;
    const flushedSeq = this.#meta("flushed_seq") ?? 0;
    this.#journalSeq = flushedSeq;
    this.#rollups.rawFloor = this.#meta("raw_floor") ?? 0;
    const snapshotRow = this.#sql.exec(`SELECT data FROM snapshot WHERE id = 1`).toArray()[0];
    const snapshot = snapshotRow ? json(SnapshotSchema).parse(snapshotRow.data) : {};
    for (const row of this.#sql.exec(`SELECT config FROM endpoints`).toArray()) {
      const config = json(EndpointConfigSchema).parse(row.config);
      const saved = snapshot[config.id];
      if (saved) this.#state.restore(config, saved);
      else this.#state.upsert(config, now);
    }
    for (const row of this.#sql.exec(`SELECT hour_start, data FROM hours`).toArray()) {
      this.#rollups.hours.set(Number(row.hour_start), json(HourRollupSchema).parse(row.data));
    }
    for (const row of this.#sql.exec(`SELECT seq, results FROM journal ORDER BY seq`).toArray()) {
      const seq = Number(row.seq);
      const results = json(z.array(CheckResultSchema)).parse(row.results);
      this.#journalSeq = Math.max(this.#journalSeq, seq);
      if (seq > flushedSeq) this.#apply(results, { replay: true });
      else for (const r of results) if (this.#state.entries.has(r.endpointId)) this.#rollups.addRaw(r.endpointId, packCheck(r));
    }
  }

  #meta(key: string): number | null {
    const row = this.#sql.exec(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0];
    return row ? StoredNumber.parse(row.value) : null;
  }

  #setMeta(key: string, value: number): void {
    this.#sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, String(value));
  }
}

