import { z } from "zod";
import type { AttemptRow, JobRow, LogRow } from "../db/schema";
import type { JobFilter, NewJob } from "../db/jobs";
import { endOfRange, formatTimeSpan, iso, parseTimeSpan } from "../lib/time";

export const JOB_STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];
export type TerminalStatus = "completed" | "failed" | "cancelled";

export function isTerminalStatus(status: JobStatus): status is TerminalStatus {
  return TERMINAL_STATUSES.includes(status);
}

/** Newest first by (createdAt, id), as every list of jobs is ordered (live, archived and merged). */
export function newestFirst(a: JobRow, b: JobRow): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The row of a new job, pending, exactly as its queue's scheduler stores it (so it need not be read back). */
export function newJobRow(j: NewJob, now: number): JobRow {
  return {
    id: j.id,
    queue: j.queue,
    type: j.type,
    name: j.name,
    status: "pending",
    priority: j.priority,
    parameters: j.parameters,
    result: null,
    error: null,
    runAt: j.runAt,
    attempt: 0,
    retryCount: 0,
    maxRetries: j.maxRetries,
    timeoutMs: j.timeoutMs ?? null,
    cancelRequested: 0,
    leaseUntil: null,
    progress: null,
    progressMessage: null,
    idempotencyKey: j.idempotencyKey ?? null,
    requestHash: j.requestHash ?? null,
    createdAt: j.createdAt,
    updatedAt: now,
    executedAt: null,
    completedAt: null,
    recurringId: j.recurringId ?? null,
    scheduledFor: j.scheduledFor ?? null,
  };
}

/**
 * The one attempt of a finished job archived without attempt rows (the archive flush writes them
 * only for jobs with more than one attempt), rebuilt from the job's row.
 */
export function singleAttemptOf(job: JobRow): AttemptRow[] {
  if (job.attempt < 1 || job.executedAt == null || !isTerminalStatus(job.status)) return [];
  return [
    {
      jobId: job.id,
      attempt: job.attempt,
      status: job.status,
      startedAt: job.executedAt,
      completedAt: job.completedAt,
      durationMs: job.completedAt == null ? null : job.completedAt - job.executedAt,
      error: job.error,
      retryAt: null,
    },
  ];
}

export const PRIORITIES = ["low", "normal", "high"] as const;
export type Priority = (typeof PRIORITIES)[number];
export const priorityRank = (p: Priority) => PRIORITIES.indexOf(p);
export const priorityName = (rank: number): Priority => PRIORITIES[rank] ?? "normal";

export const QueueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, "must be 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit");

export const TimeSpanSchema = z
  .string()
  .transform((value, ctx) => {
    const ms = parseTimeSpan(value);
    if (ms == null) {
      ctx.addIssue({ code: "custom", message: 'must be a duration "hh:mm:ss" or "d.hh:mm:ss"' });
      return z.NEVER;
    }
    return ms;
  });

/** Retries of a job when neither the request nor its queue's defaults say otherwise. */
export const DEFAULT_MAX_RETRIES = 3;

/** Longest delay accepted for a one-off job. */
export const MAX_DELAY_MS = 366 * 86_400_000;

/**
 * The longest timeout a job may have. A Queue consumer invocation has 15 minutes of wall time; an
 * attempt, its claim and its recording must all fit in it, with its lease (timeout + 30 s grace)
 * still inside, so a run is never cut off by the platform while D1 still shows it running.
 */
export const MAX_TIMEOUT_SECONDS = 840;
/** Results larger than this (as JSON) are replaced by a truncated preview. */
export const MAX_RESULT_BYTES = 128 * 1024;
/** Timeouts accepted wherever a job's timeout is set (jobs, recurring jobs, queue defaults). */
export const TimeoutSecondsSchema = z.number().int().min(1).max(MAX_TIMEOUT_SECONDS, `must be at most ${MAX_TIMEOUT_SECONDS} (14 minutes)`);

const JobRequestFields = {
  type: z.string().min(1).max(100),
  name: z.string().trim().min(1).max(200).optional(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  priority: z.enum(PRIORITIES).default("normal"),
  delay: TimeSpanSchema.refine((ms) => ms <= MAX_DELAY_MS, "must be at most 366 days").optional(),
  executeAt: z.iso.datetime({ offset: true }).optional(),
  maxRetries: z.number().int().min(0).max(25).optional().describe("default: the queue's default, else 3"),
  timeoutSeconds: TimeoutSecondsSchema.optional().describe("default: the queue's default, else the job type's"),
  // A non-null cronExpression is routed to the recurring-job schema before this one applies.
  cronExpression: z.null({ error: "a batch item is a one-off job; create recurring jobs with POST /jobs or POST /jobs/recurring" }).optional(),
  queue: QueueNameSchema.default("default"),
};

const noDelayAndExecuteAt = (r: { delay?: number; executeAt?: string }) => !(r.delay !== undefined && r.executeAt !== undefined);
const both = { message: "give either delay or executeAt, not both", path: ["executeAt"] };

/** POST /jobs. Unknown fields are refused so that typos do not silently change behaviour. */
export const JobRequestSchema = z.strictObject(JobRequestFields).refine(noDelayAndExecuteAt, both);
export type JobRequest = z.output<typeof JobRequestSchema>;

/** One item of POST /jobs/batch: a job request plus its own idempotency key. */
export const BatchItemSchema = z
  .strictObject({ ...JobRequestFields, idempotencyKey: z.string().min(1).max(255).optional() })
  .refine(noDelayAndExecuteAt, both);

export const BatchRequestSchema = z.strictObject({ jobs: z.array(BatchItemSchema).min(1).max(1000) });

export const ListJobsQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  type: z.string().min(1).max(100).optional(),
  queue: QueueNameSchema.optional(),
  recurringId: z.string().min(1).max(100).optional(),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  /** Free text: a job id (exact) or part of a job name. */
  search: z.string().trim().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

/** The list filters of a parsed ListJobsQuery (also used by the export), with times in epoch ms. */
export function jobFilterOf(q: Pick<z.output<typeof ListJobsQuery>, "status" | "type" | "queue" | "from" | "to"> & { recurringId?: string; search?: string }): JobFilter {
  return {
    search: q.search,
    status: q.status,
    type: q.type,
    queue: q.queue,
    recurringId: q.recurringId,
    from: q.from ? Date.parse(q.from) : undefined,
    to: q.to ? endOfRange(q.to) : undefined,
  };
}

export const ExecuteRequestSchema = z.strictObject({
  priority: z.enum(PRIORITIES).optional(),
  delay: TimeSpanSchema.refine((ms) => ms <= MAX_DELAY_MS, "must be at most 366 days").optional(),
});

export const RetryRequestSchema = z.strictObject({ resetRetryCount: z.boolean().default(false) });

function jobDuration(row: JobRow) {
  return row.executedAt != null && row.completedAt != null ? row.completedAt - row.executedAt : null;
}

const IsoTime = z.iso.datetime();

/** A job as lists show it (seed "Get All Jobs"); the response schema of the routes that return one. */
export const JobSummarySchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  type: z.string(),
  queue: z.string(),
  status: z.enum(JOB_STATUSES),
  createdAt: IsoTime.nullable(),
  scheduledAt: IsoTime.nullable(),
  executedAt: IsoTime.nullable(),
  completedAt: IsoTime.nullable(),
  duration: z.string().nullable().describe('"hh:mm:ss" (or "d.hh:mm:ss")'),
  durationMs: z.number().nullable(),
  priority: z.enum(PRIORITIES),
  retryCount: z.number().int(),
  maxRetries: z.number().int(),
  attempts: z.number().int(),
  recurringId: z.string().nullable(),
  scheduledFor: IsoTime.nullable().describe("the recurring job's slot this run belongs to"),
});
export type JobSummary = z.output<typeof JobSummarySchema>;

export const AttemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: IsoTime.nullable(),
  completedAt: IsoTime.nullable(),
  status: z.enum(["running", "completed", "failed", "cancelled"]),
  duration: z.string().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  retryAt: IsoTime.nullable(),
});

export const JobLogLineSchema = z.object({
  id: z.string(),
  jobId: z.string(),
  attempt: z.number().int().nullable(),
  level: z.string(),
  message: z.string(),
  details: z.string().nullable(),
  stepName: z.string().nullable(),
  createdAt: IsoTime.nullable(),
});

export function toJobSummary(row: JobRow): JobSummary {
  const durationMs = jobDuration(row);
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    queue: row.queue,
    status: row.status,
    createdAt: iso(row.createdAt),
    scheduledAt: iso(row.runAt),
    executedAt: iso(row.executedAt),
    completedAt: iso(row.completedAt),
    duration: formatTimeSpan(durationMs),
    durationMs,
    priority: priorityName(row.priority),
    retryCount: row.retryCount,
    maxRetries: row.maxRetries,
    attempts: row.attempt,
    recurringId: row.recurringId,
    scheduledFor: iso(row.scheduledFor),
  };
}

export function toAttempt(a: AttemptRow): z.output<typeof AttemptSchema> {
  return {
    attempt: a.attempt,
    startedAt: iso(a.startedAt),
    completedAt: iso(a.completedAt),
    status: a.status,
    duration: formatTimeSpan(a.durationMs),
    durationMs: a.durationMs,
    error: a.error,
    retryAt: iso(a.retryAt),
  };
}

export function toLogLine(l: LogRow): z.output<typeof JobLogLineSchema> {
  return {
    id: `log_${l.id}`,
    jobId: l.jobId,
    attempt: l.attempt,
    level: l.level,
    message: l.message,
    details: l.details,
    stepName: l.stepName,
    createdAt: iso(l.createdAt),
  };
}
