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
export const ReleaseInput = z.object({ queue: z.string().min(1), jobId: z.string().min(1), attempt: z.number().int().min(0), next: DueItemSchema.optional() });

/** The body of an `exec` queue message: ids only, never the job's parameters. */
export const ExecMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().min(0), queue: z.string().min(1) });
export type ExecMessage = z.infer<typeof ExecMessageSchema>;
