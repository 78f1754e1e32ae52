import { z } from "zod";
import type { JobRow } from "../db/schema";
import { formatTimeSpan, iso } from "../lib/time";
import { priorityName, type JobStatus } from "../model/job";

export const EVENT_TYPES = [
  "job.created",
  "job.requeued",
  "job.started",
  "job.completed",
  "job.failed",
  "job.cancelled",
  "job.retrying",
  "job.progress",
  "job.log",
  "queue.paused",
  "queue.resumed",
  "queue.cleared",
  "system.alert",
  "endpoint.status_changed",
] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

/** Events that change a job's state durably; their sinks may add statements to the same transaction. */
export const LIFECYCLE_EVENTS: readonly EventType[] = ["job.started", "job.completed", "job.failed", "job.cancelled", "job.retrying"];

export const DomainEventSchema = z.object({
  /** Unique per event; stable across redeliveries of it. */
  id: z.string(),
  type: EventTypeSchema,
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type DomainEvent = z.infer<typeof DomainEventSchema>;

export type JobEventData = {
  jobId: string;
  jobType: string;
  jobName: string;
  queue: string;
  status: JobStatus;
  previousStatus: JobStatus | null;
  priority: string;
  attempt: number;
  retryCount: number;
  maxRetries: number;
  scheduledAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  duration: string | null;
  durationMs: number | null;
  result: unknown;
  error: string | null;
  nextRetryAt: string | null;
};

/** The `data` of a job event (seed webhook payload: jobId, jobType, status, duration, result, ...). */
export function jobEventData(
  job: Pick<JobRow, "id" | "type" | "name" | "queue" | "priority" | "attempt" | "retryCount" | "maxRetries" | "runAt" | "executedAt">,
  change: { status: JobStatus; previousStatus: JobStatus | null; completedAt?: number | null; result?: unknown; error?: string | null; nextRetryAt?: number | null },
): JobEventData {
  const durationMs = change.completedAt != null && job.executedAt != null ? change.completedAt - job.executedAt : null;
  return {
    jobId: job.id,
    jobType: job.type,
    jobName: job.name,
    queue: job.queue,
    status: change.status,
    previousStatus: change.previousStatus,
    priority: priorityName(job.priority),
    attempt: job.attempt,
    retryCount: job.retryCount,
    maxRetries: job.maxRetries,
    scheduledAt: iso(job.runAt),
    startedAt: iso(job.executedAt),
    completedAt: iso(change.completedAt ?? null),
    duration: formatTimeSpan(durationMs),
    durationMs,
    result: change.result ?? null,
    error: change.error ?? null,
    nextRetryAt: iso(change.nextRetryAt ?? null),
  };
}

export type EndpointStatus = "online" | "offline";

/** The `data` of an `endpoint.status_changed` event (seed 002): an endpoint went online or offline. */
export type EndpointStatusEventData = {
  endpointId: string;
  name: string;
  address: string;
  group: string | null;
  type: "http" | "tcp";
  status: EndpointStatus;
  /** "unknown" for the first status an endpoint gets after it is created or enabled. */
  previousStatus: EndpointStatus | "unknown";
  /** Milliseconds; null when the check that changed the status failed. */
  responseTime: number | null;
  /** When the check that changed the status ran (ISO 8601). */
  changedAt: string;
};

const encoded = new WeakMap<DomainEvent, string>();

/**
 * An event as JSON, encoded once however many writers need it (a flush's size, its journal row,
 * the webhook outbox rows): an event is never changed once made.
 */
export function eventJson(event: DomainEvent): string {
  let json = encoded.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    encoded.set(event, json);
  }
  return json;
}

export function makeEvent(type: EventType, data: Record<string, unknown>, at = Date.now()): DomainEvent {
  return { id: `evt_${crypto.randomUUID()}`, type, timestamp: new Date(at).toISOString(), data };
}
