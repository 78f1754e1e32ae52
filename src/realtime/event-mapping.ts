import { z } from "zod";
import type { DomainEvent, EventType } from "../model/events";
import type { Draft, PublishInput } from "./messages";

/** A job's result rides along in live messages only up to this size; GET /jobs/{id} has the whole of it. */
export const MAX_LIVE_RESULT_BYTES = 4096;

const STATUS_EVENTS: readonly EventType[] = ["job.created", "job.requeued", "job.started", "job.completed", "job.failed", "job.cancelled", "job.retrying"];
const QUEUE_EVENTS: readonly EventType[] = ["queue.paused", "queue.resumed", "queue.cleared"];

type JobRef = { jobId: string; queue: string; jobType: string };
/** The job an event is about, if its data names one (checked by hand: this runs for every job event). */
function jobRefOf(data: Record<string, unknown>): JobRef | null {
  const { jobId, queue, jobType } = data;
  return typeof jobId === "string" && typeof queue === "string" && typeof jobType === "string" ? { jobId, queue, jobType } : null;
}
const LogLine = z.looseObject({ level: z.unknown(), message: z.unknown(), details: z.unknown(), stepName: z.unknown(), createdAt: z.unknown() });
const QueueRef = z.looseObject({ queue: z.string() });
const EndpointChange = z.looseObject({
  endpointId: z.string(),
  status: z.string(),
  previousStatus: z.string().nullable(),
  responseTime: z.number().nullable(),
  changedAt: z.string().optional(),
});

/**
 * Turns a batch of domain events into live messages: one `job-status-changed` per status change,
 * the latest `job-progress` per job, one `job-logs` per job with all its lines, `system-health-alert`
 * per alert; and the queues whose counts may have changed (for `queue-metrics-updated`).
 */
export function toPublishInput(events: DomainEvent[]): PublishInput {
  const messages: Draft[] = [];
  const queues = new Set<string>();
  const progress = new Map<string, number>();
  const logs = new Map<string, number>();

  for (const event of events) {
    if (STATUS_EVENTS.includes(event.type)) {
      const ref = jobRefOf(event.data);
      if (!ref) continue;
      queues.add(ref.queue);
      messages.push(draft(event, "job-status", ref, { event: event.type, ...withBoundedResult(event.data) }));
    } else if (event.type === "job.progress") {
      const ref = jobRefOf(event.data);
      if (!ref) continue;
      const at = progress.get(ref.jobId);
      const msg = draft(event, "job-progress", ref, event.data);
      if (at === undefined) progress.set(ref.jobId, messages.push(msg) - 1);
      else messages[at] = msg;
    } else if (event.type === "job.log") {
      const ref = jobRefOf(event.data);
      if (!ref) continue;
      const { level, message, details, stepName, createdAt, ...job } = LogLine.parse(event.data);
      const line = { level, message, details, stepName, createdAt };
      const at = logs.get(ref.jobId);
      if (at === undefined) logs.set(ref.jobId, messages.push(draft(event, "job-logs", ref, { ...job, logs: [line] })) - 1);
      else (messages[at].data.logs as unknown[]).push(line);
    } else if (QUEUE_EVENTS.includes(event.type)) {
      const ref = QueueRef.safeParse(event.data);
      if (ref.success) queues.add(ref.data.queue);
    } else if (event.type === "endpoint.status_changed") {
      const change = EndpointChange.safeParse(event.data);
      if (change.success) messages.push(statusUpdate(change.data, event.timestamp));
    } else if (event.type === "system.alert") {
      messages.push({ topic: "system-health", data: event.data, timestamp: event.timestamp, queue: null, jobId: null, jobType: null });
    }
  }
  return { messages, queues: [...queues] };
}

function draft(event: DomainEvent, topic: Draft["topic"], ref: JobRef, data: Record<string, unknown>): Draft {
  return { topic, data, timestamp: event.timestamp, queue: ref.queue, jobId: ref.jobId, jobType: ref.jobType };
}

/** Seed 002's `status_update` data, stamped with the time of the check that changed the status. */
function statusUpdate(c: z.infer<typeof EndpointChange>, fallbackTimestamp: string): Draft {
  const data = { endpointId: c.endpointId, status: c.status, responseTime: c.responseTime, previousStatus: c.previousStatus };
  return { topic: "endpoint-status", data, timestamp: c.changedAt ?? fallbackTimestamp, queue: null, jobId: null, jobType: null };
}

function withBoundedResult(data: Record<string, unknown>): Record<string, unknown> {
  if (!("result" in data) || data.result == null) return data;
  const size = JSON.stringify(data.result)?.length ?? 0;
  return size <= MAX_LIVE_RESULT_BYTES ? data : { ...data, result: null, resultTruncated: true };
}
