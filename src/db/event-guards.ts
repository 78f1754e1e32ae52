import type { DomainEvent } from "../model/events";

/**
 * A SQL boolean expression (with its bound values) that is true exactly when the state change
 * that raised the event committed, e.g. `EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = ? AND attempt = ?)`.
 * Sinks put it in the WHERE of their statements so a change that lost its race writes nothing.
 */
export type Guard = { sql: string; params: unknown[]; job?: JobState };

/** The state of one job that a job-state guard checks; sinks can check many of them in one set-based statement. */
export type JobState = { id: string; status: string; attempt: number; updatedAt: number };

export type GuardedEvent = { event: DomainEvent; guard: Guard };

/**
 * Where a transaction of this layer hands the events its state change raises: statements committed
 * with the change, and delivery after the commit. The event publisher is one; it is passed in
 * (see events/publisher.ts `eventOutbox`) because data access must not depend on what consumes events.
 */
export type EventOutbox = {
  statements(env: Env, events: GuardedEvent[]): D1PreparedStatement[];
  deliver(env: Env, events: DomainEvent[]): Promise<void>;
};

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

/** Events that share one guard: a sink writes each group with set-based statements under that guard once. */
export type GuardGroup = { guard: Guard; events: GuardedEvent[] };

/**
 * Splits events into those guarded by a job's state (one statement checks each row's own job) and
 * groups of events with the same guard (same SQL and values, e.g. one archive flush's marker), so
 * a flush of 500 events is a few statements, not 500.
 */
export function byGuard(events: GuardedEvent[]): { jobGuarded: (GuardedEvent & { guard: { job: JobState } })[]; groups: GuardGroup[] } {
  const { jobGuarded, other } = byGuardKind(events);
  const groups = new Map<string, GuardGroup>();
  for (const e of other) {
    const key = JSON.stringify([e.guard.sql, e.guard.params]);
    const group = groups.get(key) ?? { guard: e.guard, events: [] };
    group.events.push(e);
    groups.set(key, group);
  }
  return { jobGuarded, groups: [...groups.values()] };
}

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
