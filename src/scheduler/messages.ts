import { z } from "zod";

/** One unit of due work held by a queue's scheduler: which job, which attempt, when, how urgent. */
export const DueItemSchema = z.object({
  jobId: z.string().min(1),
  attempt: z.number().int().min(0),
  runAt: z.number().int(),
  priority: z.number().int().min(0).max(2),
});
export type DueItem = z.infer<typeof DueItemSchema>;

export const EnqueueInput = z.object({ queue: z.string().min(1), items: z.array(DueItemSchema).max(10_000) });
export const RemoveInput = z.object({ queue: z.string().min(1), jobIds: z.array(z.string().min(1)).max(10_000) });
/** A dispatched attempt that ended (or was stale): its slot is free; a retry comes back as `next`. */
export const ReleaseItemSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().min(0), next: DueItemSchema.optional() });
export type ReleaseItem = z.infer<typeof ReleaseItemSchema>;
export const ReleaseInput = z.object({ queue: z.string().min(1), items: z.array(ReleaseItemSchema).max(10_000) });

/** The body of an `exec` queue message: ids only, never the job's parameters. */
export const ExecMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().min(0), queue: z.string().min(1) });
export type ExecMessage = z.infer<typeof ExecMessageSchema>;

/** At most `limit` starts in any `intervalMs` window. */
export const RateLimitSchema = z.object({ limit: z.number().int().min(1).max(10_000), intervalMs: z.number().int().min(1).max(86_400_000) });
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const QueueInput = z.object({ queue: z.string().min(1) });
export const ConfigureInput = z.object({
  queue: z.string().min(1),
  workers: z.number().int().min(1).max(1000).optional(),
  /** null removes the rate limit; absent leaves it as it is. */
  rateLimit: RateLimitSchema.nullable().optional(),
});
export const ClearInput = z.object({ queue: z.string().min(1), jobIds: z.array(z.string().min(1)).max(10_000) });

/** A scheduler's settings and load, as its status RPC reports them. */
export type SchedulerStatus = {
  queue: string | null;
  paused: boolean;
  workers: number;
  rateLimit: RateLimit | null;
  /** Bumped on every settings change; orders the writes of the D1 mirror. */
  version: number;
  due: number;
  inflight: number;
};
