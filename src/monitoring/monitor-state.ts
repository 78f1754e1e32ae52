import type { CheckResult, CheckTask } from "./check-messages";
import type { EndpointConfig, LiveState } from "./endpoint-model";
import { applyCheck, UNKNOWN_LIVE, type StatusChange } from "./status";

/** Checks due within this much of now are sent together; the consumer holds each until its due time. */
export const DISPATCH_AHEAD_MS = 1_000;
/** A check whose result has not come back this long after its timeout is sent again. */
export const REDISPATCH_MARGIN_MS = 10_000;

export type Entry = {
  config: EndpointConfig;
  live: LiveState;
  /** Due time of the newest accepted result (0: none yet); older or repeated results are ignored. */
  lastDueAt: number;
  nextDueAt: number;
  /** The newest dispatched check, until its result is accepted. */
  inflight: { dueAt: number; redispatchAt: number } | null;
};

/** What survives the object's eviction in its snapshot row. */
export type SavedEntry = Pick<Entry, "live" | "lastDueAt" | "nextDueAt">;

export type AcceptedChange = { endpointId: string; change: StatusChange; config: EndpointConfig };

/**
 * The schedule and live state of one shard's endpoints, without I/O: which checks are due (or lost
 * and due again), and what a batch of results does to each endpoint's status.
 */
export class MonitorState {
  readonly entries = new Map<string, Entry>();
  /**
   * Checks due up to here have been sent. The next dispatch waits until then, so that each one sends
   * a whole look-ahead window of checks (a few messages a second) rather than one message per check.
   */
  #dispatchedThrough = 0;

  /** A new or changed endpoint. A new or re-enabled one is checked at once and starts as `unknown`. */
  upsert(config: EndpointConfig, now: number, options: { reEnabled?: boolean; live?: LiveState } = {}): void {
    const known = this.entries.get(config.id);
    if (!known || options.reEnabled) {
      const live = options.live ?? { ...(known?.live ?? UNKNOWN_LIVE), status: "unknown" as const, previousStatus: null, consecutiveFailures: 0 };
      // Due at the next dispatch, so the first check is not counted late for waiting for it.
      this.entries.set(config.id, { config, live, lastDueAt: known?.lastDueAt ?? 0, nextDueAt: Math.max(now, this.#dispatchedThrough), inflight: null });
      return;
    }
    // A shorter interval takes effect now rather than after the old, longer one.
    const nextDueAt = Math.min(known.nextDueAt, known.lastDueAt ? Math.max(now, known.lastDueAt + config.intervalSeconds * 1000) : now);
    this.entries.set(config.id, { ...known, config, nextDueAt });
  }

  restore(config: EndpointConfig, saved: SavedEntry): void {
    this.entries.set(config.id, { config, ...saved, inflight: null });
  }

  remove(id: string): boolean {
    return this.entries.delete(id);
  }

  /** Takes the checks to send now: those due within DISPATCH_AHEAD_MS, and dispatched ones whose result is overdue. */
  takeDue(now: number): CheckTask[] {
    const tasks: CheckTask[] = [];
    this.#dispatchedThrough = Math.max(this.#dispatchedThrough, now + DISPATCH_AHEAD_MS);
    for (const e of this.entries.values()) {
      if (!e.config.enabled) continue;
      const interval = e.config.intervalSeconds * 1000;
      if (e.nextDueAt <= now + DISPATCH_AHEAD_MS) {
        // After a long pause (eviction, a disabled period) missed checks are skipped, not made up.
        const dueAt = e.nextDueAt < now - interval ? now : e.nextDueAt;
        tasks.push(taskOf(e.config, dueAt));
        e.inflight = { dueAt, redispatchAt: dueAt + e.config.timeoutMs + REDISPATCH_MARGIN_MS };
        e.nextDueAt = dueAt + interval;
      } else if (e.inflight && e.inflight.redispatchAt <= now) {
        if (e.inflight.dueAt <= e.lastDueAt) e.inflight = null;
        else {
          tasks.push(taskOf(e.config, e.inflight.dueAt));
          e.inflight.redispatchAt = now + e.config.timeoutMs + REDISPATCH_MARGIN_MS;
        }
      }
    }
    return tasks;
  }

  /** A dispatched check whose message could not be sent: sent again at `at`. */
  deferRedispatch(id: string, at: number): void {
    const e = this.entries.get(id);
    if (e?.inflight) e.inflight.redispatchAt = at;
  }

  /** Applies results; a result older than or equal to the endpoint's newest accepted one (a late or duplicate message) is ignored. */
  accept(results: CheckResult[]): { accepted: CheckResult[]; changes: AcceptedChange[] } {
    const accepted: CheckResult[] = [];
    const changes: AcceptedChange[] = [];
    for (const r of [...results].sort((a, b) => a.dueAt - b.dueAt)) {
      const e = this.entries.get(r.endpointId);
      if (!e || !e.config.enabled || r.dueAt <= e.lastDueAt) continue;
      e.lastDueAt = r.dueAt;
      if (e.inflight && e.inflight.dueAt <= r.dueAt) e.inflight = null;
      const { live, change } = applyCheck(e.live, e.config.failureThreshold, r);
      e.live = live;
      accepted.push(r);
      if (change) changes.push({ endpointId: r.endpointId, change, config: e.config });
    }
    return { accepted, changes };
  }

  /** When the alarm should next run for the schedule (null: nothing to check). */
  nextWakeAt(): number | null {
    let next: number | null = null;
    for (const e of this.entries.values()) {
      if (!e.config.enabled) continue;
      const candidates = [e.nextDueAt - DISPATCH_AHEAD_MS, ...(e.inflight ? [e.inflight.redispatchAt] : [])];
      for (const t of candidates) if (next === null || t < next) next = t;
    }
    return next === null ? null : Math.max(next, this.#dispatchedThrough);
  }

  saved(): Record<string, SavedEntry> {
    return Object.fromEntries([...this.entries].map(([id, e]) => [id, { live: e.live, lastDueAt: e.lastDueAt, nextDueAt: e.nextDueAt }]));
  }
}

function taskOf(c: EndpointConfig, dueAt: number): CheckTask {
  return { endpointId: c.id, dueAt, type: c.type, address: c.address, port: c.port, scheme: c.scheme, path: c.path, method: c.method, expectedStatus: c.expectedStatus, timeoutMs: c.timeoutMs };
}
