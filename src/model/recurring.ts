import { z } from "zod";
import type { RecurringJobRow } from "../db/recurring-jobs";
import type { JobRow } from "../db/schema";
import { iso } from "../lib/time";
import { maskJobParameters } from "../jobs/job-secrets";
import { MISSED_RUN_POLICIES, OVERLAP_POLICIES } from "../recurring/plan";
import { CronError, parseCron, Schedule } from "../recurring/schedule";
import { canonicalTimeZone, localIso } from "../recurring/timezone";
import { JobSummarySchema, PRIORITIES, QueueNameSchema, TimeoutSecondsSchema, priorityName, toJobSummary } from "./job";

export const CronExpressionSchema = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    try {
      parseCron(value);
      return value.trim();
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      ctx.addIssue({ code: "custom", message: `not a valid cron expression: ${err.message}` });
      return z.NEVER;
    }
  });

export const TimeZoneSchema = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const zone = canonicalTimeZone(value);
    if (!zone) {
      ctx.addIssue({ code: "custom", message: `unknown time zone "${value}"; use an IANA name such as "Europe/Berlin" or "UTC"` });
      return z.NEVER;
    }
    return zone;
  });

const RecurringFields = {
  type: z.string().min(1).max(100),
  name: z.string().trim().min(1).max(200).optional(),
  cronExpression: CronExpressionSchema,
  parameters: z.record(z.string(), z.unknown()).default({}),
  enabled: z.boolean().default(true),
  timezone: TimeZoneSchema.default("UTC"),
  queue: QueueNameSchema.default("default"),
  priority: z.enum(PRIORITIES).default("normal"),
  maxRetries: z.number().int().min(0).max(25).default(3),
  timeoutSeconds: TimeoutSecondsSchema.optional(),
  overlapPolicy: z.enum(OVERLAP_POLICIES).default("skip"),
  missedRunPolicy: z.enum(MISSED_RUN_POLICIES).default("runOnce"),
};

/** An expression that is valid but matches no date (e.g. "0 0 30 2 *") is refused. */
function firesAtAll(r: { cronExpression?: string; timezone?: string }, ctx: z.RefinementCtx) {
  if (r.cronExpression == null || r.timezone == null) return;
  if (new Schedule(r.cronExpression, r.timezone).next(Date.now()) == null) {
    ctx.addIssue({ code: "custom", path: ["cronExpression"], message: "never fires: it matches no date" });
  }
}

/** POST /jobs/recurring (seed "Schedule Recurring Job" plus timezone, queue and policies). */
export const RecurringJobRequestSchema = z.strictObject(RecurringFields).superRefine(firesAtAll);
export type RecurringJobRequest = z.output<typeof RecurringJobRequestSchema>;

/** POST /jobs with a non-null cronExpression: the same request; a one-off's delay/executeAt make no sense here. */
export const CronJobRequestSchema = z
  .strictObject({
    ...RecurringFields,
    delay: z.undefined({ error: "a recurring job (cronExpression) takes no delay" }).optional(),
    executeAt: z.undefined({ error: "a recurring job (cronExpression) takes no executeAt" }).optional(),
  })
  .superRefine(firesAtAll);

export const RecurringJobPatchSchema = z
  .strictObject({
    name: RecurringFields.name,
    cronExpression: CronExpressionSchema.optional(),
    timezone: TimeZoneSchema.optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
    queue: QueueNameSchema.optional(),
    priority: z.enum(PRIORITIES).optional(),
    maxRetries: z.number().int().min(0).max(25).optional(),
    timeoutSeconds: TimeoutSecondsSchema.nullable().optional(),
    overlapPolicy: z.enum(OVERLAP_POLICIES).optional(),
    missedRunPolicy: z.enum(MISSED_RUN_POLICIES).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "give at least one field to change");
export type RecurringJobPatch = z.output<typeof RecurringJobPatchSchema>;

export const ListRecurringJobsQuery = z.strictObject({
  enabled: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  type: z.string().min(1).max(100).optional(),
  queue: QueueNameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

/** A recurring job as lists show it. */
export const RecurringJobSchema = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string().nullable(),
  cronExpression: z.string(),
  timezone: z.string(),
  parameters: z.unknown().describe("as sent, with credential parameters masked"),
  queue: z.string(),
  priority: z.enum(PRIORITIES),
  maxRetries: z.number().int(),
  timeoutSeconds: z.number().nullable(),
  overlapPolicy: z.enum(OVERLAP_POLICIES),
  missedRunPolicy: z.enum(MISSED_RUN_POLICIES),
  enabled: z.boolean(),
  nextRunAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime().nullable(),
});

export function toRecurringJob(row: RecurringJobRow): z.output<typeof RecurringJobSchema> {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    cronExpression: row.cronExpression,
    timezone: row.timezone,
    parameters: maskJobParameters(row.type, JSON.parse(row.parameters)),
    queue: row.queue,
    priority: priorityName(row.priority),
    maxRetries: row.maxRetries,
    timeoutSeconds: row.timeoutMs == null ? null : row.timeoutMs / 1000,
    overlapPolicy: row.overlapPolicy,
    missedRunPolicy: row.missedRunPolicy,
    enabled: row.enabled,
    nextRunAt: iso(row.nextRunAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** A recurring job with its latest run and its next fire times, in UTC and in its own time zone. */
export const RecurringJobDetailsSchema = RecurringJobSchema.extend({
  lastRun: JobSummarySchema.nullable(),
  nextRuns: z.array(z.object({ utc: z.iso.datetime().nullable(), local: z.string().describe("the same instant in the job's time zone, with its offset") })),
});

export function toRecurringJobDetails(row: RecurringJobRow, lastRun: JobRow | undefined, nextRuns: number[]): z.output<typeof RecurringJobDetailsSchema> {
  return {
    ...toRecurringJob(row),
    lastRun: lastRun ? toJobSummary(lastRun) : null,
    nextRuns: nextRuns.map((t) => ({ utc: iso(t), local: localIso(row.timezone, t) })),
  };
}
