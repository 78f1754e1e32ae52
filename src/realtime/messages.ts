import { z } from "zod";
import { QueueNameSchema } from "../model/job";

/** What a subscriber can ask for (seed 000 topics, plus live progress and logs, and seed 002's endpoint status changes). */
export const TOPICS = ["job-status", "queue-metrics", "system-health", "job-progress", "job-logs", "endpoint-status"] as const;
export const TopicSchema = z.enum(TOPICS);
export type Topic = z.infer<typeof TopicSchema>;

/** The message `type` each topic carries (seed 000: job-status-changed, queue-metrics-updated, system-health-alert). */
export const MESSAGE_TYPE: Record<Topic, string> = {
  "job-status": "job-status-changed",
  "queue-metrics": "queue-metrics-updated",
  "system-health": "system-health-alert",
  "job-progress": "job-progress",
  "job-logs": "job-logs",
  "endpoint-status": "status_update",
};

/** A message before the hub numbers it. `queue`, `jobId` and `jobType` are what subscription filters match on. */
export const DraftSchema = z.object({
  topic: TopicSchema,
  // An object, not checked key by key: its fields are sent on as they are, and a record schema
  // walking every key of every message was most of the hub's work per publish.
  data: z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "data must be an object"),
  timestamp: z.string(),
  queue: z.string().nullable(),
  jobId: z.string().nullable(),
  jobType: z.string().nullable(),
});
export type Draft = z.infer<typeof DraftSchema>;

/** The publish RPC: numbered messages to fan out, and queues whose counts may have changed. */
export const PublishInput = z.object({
  messages: z.array(DraftSchema).max(10_000),
  queues: z.array(QueueNameSchema).max(1_000),
});
export type PublishInput = z.infer<typeof PublishInput>;

/** The relay RPC: messages the primary hub numbered, for the SignalR instance to fan out. */
export const RelayInput = z.array(DraftSchema.extend({ seq: z.number().int().min(1) })).max(10_000);

/** A numbered message as subscribers receive it: `{ type, data, timestamp, seq }`. */
export type Envelope = { type: string; data: Record<string, unknown>; timestamp: string; seq: number };

/** A numbered message as the replay buffer keeps it: what filters match on, and its envelope serialised once. */
export type Stored = Pick<Draft, "topic" | "queue" | "jobId" | "jobType"> & { seq: number; json: string };
/** A message being fanned out now (SignalR frames are built from its data). */
export type Published = Draft & Stored;

export function envelope(draft: Draft, seq: number): Published {
  const body: Envelope = { type: MESSAGE_TYPE[draft.topic], data: draft.data, timestamp: draft.timestamp, seq };
  return { ...draft, seq, json: JSON.stringify(body) };
}

/** Frames that are not numbered events: greetings, acknowledgements, gap notices and errors. */
export function controlFrame(type: string, data: Record<string, unknown>): string {
  return JSON.stringify({ type, data, timestamp: new Date().toISOString() });
}

const values = z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(20)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** Optional narrowing of a subscription: every field given must match (any of its values). */
export const FilterSchema = z.strictObject({
  queue: values.optional(),
  jobId: values.optional(),
  type: values.optional().describe("job type"),
});
export type Filter = z.output<typeof FilterSchema>;

/** A subscription as a connection's attachment keeps it (filters already normalised to lists). */
export const SubscriptionSchema = z.object({
  topic: TopicSchema,
  filter: z.object({ queue: z.array(z.string()).optional(), jobId: z.array(z.string()).optional(), type: z.array(z.string()).optional() }),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

export function matches(sub: Subscription, msg: Pick<Draft, "topic" | "queue" | "jobId" | "jobType">): boolean {
  if (sub.topic !== msg.topic) return false;
  const f = sub.filter;
  if (f.queue && !(msg.queue != null && f.queue.includes(msg.queue))) return false;
  if (f.jobId && !(msg.jobId != null && f.jobId.includes(msg.jobId))) return false;
  if (f.type && !(msg.jobType != null && f.type.includes(msg.jobType))) return false;
  return true;
}

export const sameFilter = (a: Filter, b: Filter) => JSON.stringify(normal(a)) === JSON.stringify(normal(b));
const normal = (f: Filter) => ({ queue: f.queue ? [...f.queue].sort() : null, jobId: f.jobId ? [...f.jobId].sort() : null, type: f.type ? [...f.type].sort() : null });
