import { rollupSink } from "../metrics/rollup-sink";
import { webhookSink } from "../webhooks/sink";
import { realtimeSink } from "../realtime/sink";
import type { DomainEvent } from "./types";

/**
 * A SQL boolean expression (with its bound values) that is true exactly when the state change
 * that raised the event committed, e.g. `EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = ? AND attempt = ?)`.
 * Sinks put it in the WHERE of their statements so a change that lost its race writes nothing.
 */
export type Guard = { sql: string; params: unknown[]; job?: JobState };

/** The state of one job that a job-state guard checks; sinks can check many of them in one set-based statement. */
export type JobState = { id: string; status: string; attempt: number; updatedAt: number };

export type GuardedEvent = { event: DomainEvent; guard: Guard };

/** Somewhere events go: webhooks, live subscribers, metrics. Registered once in SINKS below. */
export interface EventSink {
  name: string;
  /** Statements that must commit atomically with the state change (an outbox, a rollup). Lifecycle events only. */
  statements?(env: Env, events: GuardedEvent[]): D1PreparedStatement[];
  /** Work after the commit. Best effort: it may be lost or repeated, so it must not be the only record. */
  deliver?(env: Env, events: DomainEvent[]): Promise<void>;
}

const SINKS: EventSink[] = [rollupSink, webhookSink, realtimeSink];

/** Statements every sink wants committed with the state change that raised these events. */
export function eventStatements(env: Env, events: GuardedEvent[]): D1PreparedStatement[] {
  if (!events.length) return [];
  return SINKS.flatMap((s) => s.statements?.(env, events) ?? []);
}

/** Hands committed (or ephemeral: progress, logs) events to every sink; never throws. */
export async function deliverEvents(env: Env, events: DomainEvent[]): Promise<void> {
  if (!events.length) return;
  const results = await Promise.allSettled(SINKS.map((s) => s.deliver?.(env, events)));
  results.forEach((r, i) => {
    if (r.status === "rejected") console.error(`event sink ${SINKS[i].name} failed`, r.reason);
  });
}

export function jobStateGuard(jobId: string, status: string, attempt: number, updatedAt: number): Guard {
  return {
    sql: `EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = ? AND attempt = ? AND updated_at = ?)`,
    params: [jobId, status, attempt, updatedAt],
    job: { id: jobId, status, attempt, updatedAt },
  };
}

/**
 * The set-based form of jobStateGuard: true for a `json_each` row (alias `v`) whose `$.g` holds
 * `[id, status, attempt, updatedAt]` exactly when that job's state change committed.
 */
export const JOB_STATE_EXISTS = `EXISTS (SELECT 1 FROM jobs j WHERE j.id = v.value ->> '$.g[0]' AND j.status = v.value ->> '$.g[1]'
  AND j.attempt = v.value ->> '$.g[2]' AND j.updated_at = v.value ->> '$.g[3]')`;

export const jobStateTuple = (s: JobState) => [s.id, s.status, s.attempt, s.updatedAt];

/** Splits events into those guarded by a job's state (one statement can serve all of them) and the rest. */
export function byGuardKind(events: GuardedEvent[]): { jobGuarded: (GuardedEvent & { guard: { job: JobState } })[]; other: GuardedEvent[] } {
  const jobGuarded: (GuardedEvent & { guard: { job: JobState } })[] = [];
  const other: GuardedEvent[] = [];
  for (const e of events) {
    if (e.guard.job) jobGuarded.push(e as GuardedEvent & { guard: { job: JobState } });
    else other.push(e);
  }
  return { jobGuarded, other };
}
