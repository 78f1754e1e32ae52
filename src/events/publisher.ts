import type { EventOutbox, GuardedEvent } from "../db/event-guards";
import type { DomainEvent } from "../model/events";

// The guard helpers belong to the data layer (they are SQL over `jobs`); they are part of what
// callers hand to eventStatements, so they are importable from here too.
export { byGuard, byGuardKind, JOB_STATE_EXISTS, jobStateGuard, jobStateTuple, type Guard, type GuardedEvent, type GuardGroup, type JobState } from "../db/event-guards";

/** Somewhere events go: webhooks, live subscribers, metrics. Installed once by the entry point (createEdgeTicker). */
export interface EventSink {
  name: string;
  /** Statements that must commit atomically with the state change (an outbox, a rollup). Lifecycle events only. */
  statements?(env: Env, events: GuardedEvent[]): D1PreparedStatement[];
  /** Work after the commit. Best effort: it may be lost or repeated, so it must not be the only record. */
  deliver?(env: Env, events: DomainEvent[]): Promise<void>;
  /**
   * Work after a later transaction committed these events' statements: a queue's object publishes
   * its events live (deliver) and writes their statements with its next archive flush, so what
   * needs those rows (sending the webhook outbox) runs here. Best effort, like deliver.
   */
  afterFlush?(env: Env, events: DomainEvent[]): Promise<void>;
}

let sinks: readonly EventSink[] = [];

/**
 * Sets the sinks every event goes to, replacing any installed before. The publisher knows no
 * concrete sink, so no sink module has to load before this one: the Worker's entry point composes them.
 */
export function installEventSinks(list: readonly EventSink[]): void {
  sinks = [...list];
}

/** Statements every sink wants committed with the state change that raised these events. */
export function eventStatements(env: Env, events: GuardedEvent[]): D1PreparedStatement[] {
  if (!events.length) return [];
  return sinks.flatMap((s) => s.statements?.(env, events) ?? []);
}

/** Hands committed (or ephemeral: progress, logs) events to every sink; never throws. */
export async function deliverEvents(env: Env, events: DomainEvent[]): Promise<void> {
  if (!events.length) return;
  const current = sinks;
  const results = await Promise.allSettled(current.map((s) => s.deliver?.(env, events)));
  results.forEach((r, i) => {
    if (r.status === "rejected") console.error(`event sink ${current[i].name} failed`, r.reason);
  });
}

/** Hands events whose statements an archive flush has just committed to every sink that acts on them; never throws. */
export async function deliverFlushedEvents(env: Env, events: DomainEvent[]): Promise<void> {
  if (!events.length) return;
  const current = sinks.filter((s) => s.afterFlush);
  const results = await Promise.allSettled(current.map((s) => s.afterFlush!(env, events)));
  results.forEach((r, i) => {
    if (r.status === "rejected") console.error(`event sink ${current[i].name} failed after a flush`, r.reason);
  });
}

/** The publisher as the data layer's transactions take it. */
export const eventOutbox: EventOutbox = { statements: eventStatements, deliver: deliverEvents };
