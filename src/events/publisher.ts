import { rollupSink } from "../metrics/rollup-sink";
import { webhookSink } from "../webhooks/sink";
import { realtimeSink } from "../realtime/sink";
import type { DomainEvent } from "./types";

/**
 * A SQL boolean expression (with its bound values) that is true exactly when the state change
 * that raised the event committed, e.g. `EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = ? AND attempt = ?)`.
 * Sinks put it in the WHERE of their statements so a change that lost its race writes nothing.
 */
export type Guard = { sql: string; params: unknown[] };

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
  };
}
