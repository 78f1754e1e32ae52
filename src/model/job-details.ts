import { z } from "zod";
import type { AttemptRow, JobRow } from "../db/schema";
import { maskJobParameters } from "../jobs/job-secrets";
import { iso } from "../lib/time";
import { AttemptSchema, JobSummarySchema, toAttempt, toJobSummary } from "./job";

// Not in ./job: job types import that module for its schemas, and this view needs the job types
// (which of a type's parameters are credentials).

/** A job with everything about it (seed "Get Job Details"). */
export const JobDetailsSchema = JobSummarySchema.extend({
  parameters: z.unknown().describe("as sent, with credential parameters masked"),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  timeoutSeconds: z.number().nullable(),
  cancelRequested: z.boolean(),
  progress: z.object({ percent: z.number(), message: z.string().nullable() }).nullable(),
  updatedAt: z.iso.datetime().nullable(),
  executionHistory: z.array(AttemptSchema),
});

export function toJobDetails(row: JobRow, attempts: AttemptRow[]): z.output<typeof JobDetailsSchema> {
  return {
    ...toJobSummary(row),
    parameters: maskJobParameters(row.type, JSON.parse(row.parameters)),
    result: row.result == null ? null : (JSON.parse(row.result) as unknown),
    error: row.error,
    timeoutSeconds: row.timeoutMs == null ? null : row.timeoutMs / 1000,
    cancelRequested: row.cancelRequested === 1,
    progress: row.progress == null ? null : { percent: row.progress, message: row.progressMessage },
    updatedAt: iso(row.updatedAt),
    executionHistory: attempts.map(toAttempt),
  };
}
