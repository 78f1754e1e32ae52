import { z } from "zod";
import { ListJobsQuery, QueueNameSchema } from "./job";

const DateOrInstant = z.iso.datetime({ offset: true }).or(z.iso.date());
const JobTypeName = z.string().min(1).max(100);

/** Periods the hourly rollups can answer: they are kept 400 days by default. */
export const MAX_PERIOD_DAYS = 400;
/** Hourly trends and buckets are limited to this span, so a response stays a few hundred rows. */
export const MAX_HOURLY_DAYS = 31;

export const PerformanceQuery = z.strictObject({
  from: DateOrInstant.optional().describe("default: 7 days before `to`"),
  to: DateOrInstant.optional().describe("default: now; a bare date means the end of that day"),
  granularity: z.enum(["day", "hour"]).default("day"),
  queue: QueueNameSchema.optional(),
  type: JobTypeName.optional(),
});

export const JobTypesQuery = z.strictObject({
  from: DateOrInstant.optional().describe("default: all time"),
  to: DateOrInstant.optional(),
  queue: QueueNameSchema.optional(),
  type: JobTypeName.optional(),
});

export const EXPORT_FORMATS = ["csv", "json", "ndjson"] as const;
/** D1 allows 1,000 queries per invocation; an export reads 1,000 rows per query. */
export const MAX_EXPORT_ROWS = 500_000;

export const ExportJobsQuery = ListJobsQuery.omit({ limit: true, offset: true }).extend({
  format: z.enum(EXPORT_FORMATS).default("csv"),
  limit: z.coerce.number().int().min(1).max(MAX_EXPORT_ROWS).default(MAX_EXPORT_ROWS).describe("most jobs to export"),
});

/** One queue's jobs of one UTC day from the R2 history (jobs older than RETENTION_DAYS). */
export const ExportArchiveQuery = z.strictObject({
  queue: QueueNameSchema,
  day: z.iso.date().describe("UTC day of creation, YYYY-MM-DD"),
  format: z.enum(EXPORT_FORMATS).default("csv"),
});

export const ExportHistoryQuery = z.strictObject({
  bucket: z.enum(["hourly", "daily"]).default("daily"),
  format: z.enum(EXPORT_FORMATS).default("csv"),
  startTime: DateOrInstant.optional().describe("default: 30 days before endTime"),
  endTime: DateOrInstant.optional().describe("default: now"),
  queue: QueueNameSchema.optional(),
  type: JobTypeName.optional(),
});
