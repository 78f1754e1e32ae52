import { z } from "zod";
import type { JobRow } from "./schema";

const int = z.number().int();
const nint = int.nullable();

/** Validates a raw `jobs` row (snake_case, from a hand-written statement) into the drizzle row type. */
export const JobRowSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    type: z.string(),
    name: z.string(),
    status: z.enum(["pending", "running", "completed", "failed", "cancelled"]),
    priority: int,
    parameters: z.string(),
    result: z.string().nullable(),
    error: z.string().nullable(),
    run_at: int,
    attempt: int,
    retry_count: int,
    max_retries: int,
    timeout_ms: nint,
    cancel_requested: int,
    lease_until: nint,
    progress: z.number().nullable(),
    progress_message: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    request_hash: z.string().nullable(),
    created_at: int,
    updated_at: int,
    executed_at: nint,
    completed_at: nint,
    recurring_id: z.string().nullable(),
    scheduled_for: nint,
  })
  .transform(
    (r): JobRow => ({
      id: r.id,
      queue: r.queue,
      type: r.type,
      name: r.name,
      status: r.status,
      priority: r.priority,
      parameters: r.parameters,
      result: r.result,
      error: r.error,
      runAt: r.run_at,
      attempt: r.attempt,
      retryCount: r.retry_count,
      maxRetries: r.max_retries,
      timeoutMs: r.timeout_ms,
      cancelRequested: r.cancel_requested,
      leaseUntil: r.lease_until,
      progress: r.progress,
      progressMessage: r.progress_message,
      idempotencyKey: r.idempotency_key,
      requestHash: r.request_hash,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      executedAt: r.executed_at,
      completedAt: r.completed_at,
      recurringId: r.recurring_id,
      scheduledFor: r.scheduled_for,
    }),
  );
