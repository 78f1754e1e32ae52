import { z } from "zod";
import type { QueueStats } from "../db/queues";
import { TimeoutSecondsSchema } from "./job";

/** Jobs of one queue running at once when its `workers` was never set. */
export const DEFAULT_WORKERS = 10;

/** PATCH /queues/{name}: absent fields stay as they are; null removes the rate limit or a default. */
export const QueueSettingsPatchSchema = z.strictObject({
  workers: z.number().int().min(1, "must be at least 1").max(1000).optional().describe("most jobs of this queue running at once"),
  rateLimit: z
    .strictObject({
      limit: z.number().int().min(1, "must be at least 1").max(10_000).describe("starts allowed per interval"),
      intervalSeconds: z.number().positive("must be greater than 0").max(86_400).describe("length of the window, in seconds (fractions allowed)"),
    })
    .nullable()
    .optional(),
  defaults: z
    .strictObject({
      maxRetries: z.number().int().min(0).max(25).nullable().optional(),
      timeoutSeconds: TimeoutSecondsSchema.nullable().optional(),
    })
    .optional()
    .describe("for new jobs of this queue that do not set these themselves"),
});
export type QueueSettingsPatch = z.output<typeof QueueSettingsPatchSchema>;

/** POST /queues/{name}/clear. An empty body clears the pending jobs (the seed's example). */
export const ClearQueueSchema = z
  .strictObject({
    clearPending: z.boolean().default(true),
    clearFailed: z.boolean().default(false),
  })
  .refine((b) => b.clearPending || b.clearFailed, { message: "set clearPending and/or clearFailed to true", path: ["clearPending"] });

/** What POST /queues/{name}/clear removed; `hasMore` says to call again. */
export const ClearedQueueSchema = z.object({ queue: z.string(), clearedPending: z.number().int(), clearedFailed: z.number().int(), hasMore: z.boolean() });
export type ClearedQueue = z.output<typeof ClearedQueueSchema>;

/** A queue as GET /queues lists it (seed "Get Queue Status"). */
export const QueueSummarySchema = z.object({
  name: z.string(),
  status: z.enum(["running", "paused"]),
  pendingJobs: z.number().int(),
  runningJobs: z.number().int(),
  completedJobs: z.number().int(),
  failedJobs: z.number().int(),
  workers: z.number().int(),
  throughput: z.object({ jobsPerMinute: z.number(), jobsPerHour: z.number() }),
});

export function toQueueSummary(s: QueueStats): z.output<typeof QueueSummarySchema> {
  return {
    name: s.name,
    status: s.paused ? ("paused" as const) : ("running" as const),
    pendingJobs: s.counts.pending,
    runningJobs: s.counts.running,
    completedJobs: s.counts.completed,
    failedJobs: s.counts.failed,
    workers: s.workers,
    throughput: {
      jobsPerMinute: Math.round((s.finishedLastHour / 60) * 100) / 100,
      jobsPerHour: s.finishedLastHour,
    },
  };
}

/** One queue: its summary plus every setting. */
export const QueueDetailsSchema = QueueSummarySchema.extend({
  settings: z.object({
    workers: z.number().int(),
    rateLimit: z.object({ limit: z.number().int(), intervalSeconds: z.number() }).nullable(),
    defaults: z.object({ maxRetries: z.number().int().nullable(), timeoutSeconds: z.number().nullable() }),
  }),
});

export function toQueueDetails(s: QueueStats): z.output<typeof QueueDetailsSchema> {
  return {
    ...toQueueSummary(s),
    settings: {
      workers: s.workers,
      rateLimit: s.rateLimit ? { limit: s.rateLimit.limit, intervalSeconds: s.rateLimit.intervalMs / 1000 } : null,
      defaults: { maxRetries: s.defaults.maxRetries, timeoutSeconds: s.defaults.timeoutMs == null ? null : s.defaults.timeoutMs / 1000 },
    },
  };
}
