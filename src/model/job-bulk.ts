import { z } from "zod";
import { ListJobsQuery } from "./job";

/** At most this many jobs are changed per request; `hasMore` says to call again. */
export const BULK_JOB_LIMIT = 100;

export const BULK_ACTIONS = ["retry", "cancel"] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** The filters of GET /jobs (without paging), as a body. */
export const BulkJobFilterSchema = ListJobsQuery.omit({ limit: true, offset: true });

export const BulkJobsRequestSchema = z
  .strictObject({
    action: z.enum(BULK_ACTIONS),
    ids: z.array(z.string().min(1).max(100)).min(1).max(BULK_JOB_LIMIT).optional(),
    filter: BulkJobFilterSchema.optional(),
    /** Counts what the action would touch and changes nothing (for a confirmation). */
    dryRun: z.boolean().default(false),
  })
  .refine((b) => (b.ids === undefined) !== (b.filter === undefined), {
    message: "give either ids or filter (an empty filter {} selects every job)",
    path: ["ids"],
  });
export type BulkJobsRequest = z.output<typeof BulkJobsRequestSchema>;

export const BulkResultSchema = z.object({
  action: z.string(),
  dryRun: z.boolean(),
  matched: z.number().int().describe("jobs the action applies to"),
  succeeded: z.number().int(),
  skipped: z.number().int().describe("jobs that changed state meanwhile"),
  hasMore: z.boolean().describe("more than this call's limit matched: call again"),
});
export type BulkResult = z.output<typeof BulkResultSchema>;
