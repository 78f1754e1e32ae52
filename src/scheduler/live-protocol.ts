import { z } from "zod";
import type { AttemptRow, JobRow, LogRow } from "../db/schema";
import type { JobFilter } from "../db/jobs";
import { JOB_STATUSES, type JobStatus } from "../model/job";
import type { DomainEvent } from "../model/events";
import type { SchedulerStatus } from "./messages";

/**
 * The RPC surface of a queue's QueueScheduler, which owns the queue's live jobs (pending, waiting
 * for a retry, dispatched, running). Every input is validated with these schemas inside the
 * object; callers use the typed helpers of `./client`.
 */

const id = z.string().min(1).max(200);
const queueName = z.string().min(1);
const int = z.number().int();
const nint = int.nullable();
export const JobStatusSchema = z.enum(JOB_STATUSES);

/** A job row in the API/archive shape (`JobRow` of db/schema), as it travels over RPC and in segments. */
export const LiveJobRowSchema = z.object({
  id: z.string(),
  queue: z.string(),
  type: z.string(),
  name: z.string(),
  status: JobStatusSchema,
  priority: int,
  parameters: z.string(),
  result: z.string().nullable(),
  error: z.string().nullable(),
  runAt: int,
  attempt: int,
  retryCount: int,
  maxRetries: int,
  timeoutMs: nint,
  cancelRequested: int,
  leaseUntil: nint,
  progress: z.number().nullable(),
  progressMessage: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  requestHash: z.string().nullable(),
  createdAt: int,
  updatedAt: int,
  executedAt: nint,
  completedAt: nint,
  recurringId: z.string().nullable(),
  scheduledFor: nint,
}) satisfies z.ZodType<JobRow>;

/** A job to create (`NewJob` of db/jobs, optionally an occurrence of a recurring job). */
export const NewJobSchema = z.object({
  id,
  queue: queueName,
  type: z.string().min(1),
  name: z.string(),
  priority: int.min(0).max(2),
  parameters: z.string(),
  runAt: int,
  maxRetries: int.min(0),
  timeoutMs: nint.optional(),
  idempotencyKey: z.string().nullable().optional(),
  requestHash: z.string().nullable().optional(),
  createdAt: int,
  recurringId: z.string().nullable().optional(),
  scheduledFor: nint.optional(),
});
export type NewLiveJob = z.infer<typeof NewJobSchema>;

export const LogLineSchema = z.object({
  level: z.string(),
  message: z.string(),
  details: z.string().nullable(),
  stepName: z.string().nullable(),
  createdAt: int,
});
export type LiveLogLine = z.infer<typeof LogLineSchema>;

export const AttemptOutcomeSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("completed"), result: z.string() }),
  z.object({ kind: z.literal("retry"), error: z.string(), runAt: int, result: z.string().nullable() }),
  z.object({ kind: z.literal("failed"), error: z.string(), result: z.string().nullable() }),
  z.object({ kind: z.literal("cancelled"), error: z.string() }),
]);
export type LiveAttemptOutcome = z.infer<typeof AttemptOutcomeSchema>;

const ProgressSchema = z.object({ percent: z.number().min(0).max(100), message: z.string().nullable() });

// ---- create
export const CreateInput = z.object({ queue: queueName, jobs: z.array(NewJobSchema).max(10_000) });
export type CreateInput = z.input<typeof CreateInput>;
/** `skipped`: recurring occurrences whose slot (recurringId, scheduledFor) this object already had. */
export type CreateOutput = { created: string[]; skipped: string[] };

// ---- claim
/** `jobs`: [id, attempt] as the exec message carries them: the attempt each claim starts from (JobRow.attempt before the claim). */
/** One exec message's claim: its dispatch token and [id, attempt the claim starts from] per job. */
const MessageClaim = z.object({
  token: z.string().min(1).max(100),
  jobs: z.array(z.tuple([id, int.min(0)])).max(10_000),
});
export const ClaimInput = MessageClaim.extend({ queue: queueName });
export type ClaimInput = z.input<typeof ClaimInput>;
/** `claimed`: each job after its claim (running, attempt + 1, executedAt, leaseUntil). */
export type ClaimOutput = { claimed: JobRow[] };

/** The claims of several messages of one consumer batch, in one call (and one journal row). */
export const ClaimMessagesInput = z.object({ queue: queueName, messages: z.array(MessageClaim).min(1).max(100) });
export type ClaimMessagesInput = z.input<typeof ClaimMessagesInput>;
/** `claimed[i]`: what messages[i] claimed, as ClaimOutput. */
export type ClaimMessagesOutput = { claimed: JobRow[][] };

// ---- started
export const StartedInput = z.object({ queue: queueName, attempts: z.array(z.object({ id, attempt: int.min(1) })).max(10_000) });
export type StartedInput = z.input<typeof StartedInput>;

// ---- finish
/** The end of a claimed attempt; `attempt` is the claimed attempt (JobRow.attempt after the claim). */
export const EndedAttemptSchema = z.object({
  id,
  attempt: int.min(1),
  outcome: AttemptOutcomeSchema,
  logs: z.array(LogLineSchema).max(10_000),
  at: int,
  progress: ProgressSchema.nullable(),
});
export type EndedAttempt = z.infer<typeof EndedAttemptSchema>;
/**
 * `take`: the caller (a consumer invocation that goes on running this queue's jobs) claims up to
 * this many due jobs in the same commit as the ends, within the queue's slots and rate limit.
 */
export const FinishInput = z.object({ queue: queueName, ended: z.array(EndedAttemptSchema).max(10_000), take: int.min(1).max(1000).optional() });
export type FinishInput = z.input<typeof FinishInput>;
/**
 * `statuses`: the status each recorded job now has; attempts no longer running (lease expired
 * meanwhile) are absent. `next`: the jobs claimed for the caller (as ClaimOutput's), when it asked.
 */
export type FinishOutput = { statuses: Record<string, JobStatus>; next?: JobRow[] };

// ---- next
/**
 * A consumer invocation with room claims up to `take` due jobs, waiting at most `waitMs` for one to
 * become due (or be created) when none is due now. `next` is empty if none came in time.
 */
export const NextInput = z.object({ queue: queueName, take: int.min(1).max(1000), waitMs: int.min(0).max(5000) });
export type NextInput = z.input<typeof NextInput>;
export type NextOutput = { next: JobRow[] };

// ---- heartbeat
export const HeartbeatInput = z.object({
  queue: queueName,
  running: z.array(z.object({ id, attempt: int.min(1), progress: ProgressSchema.optional() })).max(10_000),
});
export type HeartbeatInput = z.input<typeof HeartbeatInput>;
/** `cancel`: ids among `running` whose cancel was requested. */
export type HeartbeatOutput = { cancel: string[] };

// ---- extendLease
export const ExtendLeaseInput = z.object({ queue: queueName, id, attempt: int.min(1), leaseUntil: int });
export type ExtendLeaseInput = z.input<typeof ExtendLeaseInput>;
export type ExtendLeaseOutput = { extended: boolean };

// ---- cancel
export const CancelInput = z.object({ queue: queueName, id });
export type CancelInput = z.input<typeof CancelInput>;
export type CancelOutput = { result: "cancelled" | "requested" | "not_live" | "not_cancellable"; job?: JobRow };

// ---- requeue
export const RequeueInput = z.object({
  queue: queueName,
  id,
  from: z.array(JobStatusSchema).min(1),
  runAt: int,
  priority: int.min(0).max(2).optional(),
  resetRetryCount: z.boolean(),
  /** The job's archived D1 row, when it is not live: it becomes live again (revived). */
  archived: LiveJobRowSchema.optional(),
});
export type RequeueInput = z.input<typeof RequeueInput>;
export type RequeueOutput = { job: JobRow } | { error: "not_found" } | { error: "conflict"; status: JobStatus };

// ---- remove
export const RemoveLiveInput = z.object({ queue: queueName, ids: z.array(id).max(10_000) });
export type RemoveLiveInput = z.input<typeof RemoveLiveInput>;
export type RemoveLiveOutput = { removed: string[] };

// ---- get
export const GetInput = z.object({ queue: queueName, ids: z.array(id).max(1000) });
export type GetInput = z.input<typeof GetInput>;
export type LiveJobDetail = { job: JobRow; attempts: AttemptRow[]; logs: LogRow[] };
export type GetOutput = { jobs: LiveJobDetail[] };

// ---- list
export const JobFilterSchema = z.object({
  status: JobStatusSchema.optional(),
  type: z.string().optional(),
  queue: z.string().optional(),
  recurringId: z.string().optional(),
  from: int.optional(),
  to: int.optional(),
  search: z.string().optional(),
}) satisfies z.ZodType<JobFilter>;
export const ListInput = z.object({ queue: queueName, filter: JobFilterSchema, limit: int.min(0).max(10_000) });
export type ListInput = z.input<typeof ListInput>;
/** Newest first by (createdAt, id); `total` counts every match, not only the rows returned. */
export type ListOutput = { rows: JobRow[]; total: number };

// ---- sealed parameters (re-encryption after a key change)
/** Live jobs whose parameters hold sealed credentials. */
export const SealedInput = z.object({ queue: queueName });
export type SealedInput = z.input<typeof SealedInput>;
export type SealedOutput = { jobs: { id: string; type: string; parameters: string }[] };
/** Each job's parameters become `to` if they still are `from` (a concurrent change wins). */
export const ReplaceParametersInput = z.object({
  queue: queueName,
  updates: z.array(z.object({ id, from: z.string(), to: z.string() })).max(10_000),
});
export type ReplaceParametersInput = z.input<typeof ReplaceParametersInput>;
export type ReplaceParametersOutput = { replaced: string[] };

// ---- stats
export const StatsInput = z.object({ queue: queueName });
export type StatsInput = z.input<typeof StatsInput>;
export type StatsOutput = SchedulerStatus & {
  pending: number;
  running: number;
  /** Live jobs by type and status. */
  byType: Record<string, { pending: number; running: number }>;
  /** Ended jobs waiting for the flush to D1 (or in it). */
  unflushed: number;
  /** Rows this object instance wrote to its SQLite storage since it started (the billed unit). */
  rowsWritten: number;
  /** Segment and journal rows stored now. */
  storedRows: number;
  /** Pending jobs whose run time has come, and the run time of the oldest of them (null when none). */
  dueNow: number;
  oldestDueRunAt: number | null;
  /** Running jobs past their lease (the alarm takes them back), and the oldest such lease (null when none). */
  leaseExpired: number;
  oldestLeaseExpiredAt: number | null;
  /** Ended jobs waiting for the flush, by status. */
  unflushedByStatus: { completed: number; failed: number; cancelled: number };
};

// ---- flush
export const FlushInput = z.object({ queue: queueName });
export type FlushInput = z.input<typeof FlushInput>;
export type FlushOutput = { archived: number };

/** One archived job and one flush, as the flush hands them to `archiveFlushStatements` (db/archive.ts). */
export type { ArchivedJob, ArchiveFlushInput } from "../db/archive";
