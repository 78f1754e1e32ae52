import type { JobRow } from "../src/db/schema";

/** A finished echo job's final row as a queue's object archives it, created at `t`. */
export function finishedJobRow(queue: string, i: number, t: number, over: Partial<JobRow> = {}): JobRow {
  return {
    id: `job_${queue}_${String(i).padStart(5, "0")}`,
    queue,
    type: "echo",
    name: "echo",
    status: "completed",
    priority: 1,
    parameters: "{}",
    result: '{"ok":true}',
    error: null,
    runAt: t,
    attempt: 1,
    retryCount: 0,
    maxRetries: 3,
    timeoutMs: null,
    cancelRequested: 0,
    leaseUntil: null,
    progress: null,
    progressMessage: null,
    idempotencyKey: null,
    requestHash: null,
    createdAt: t,
    updatedAt: t + 20,
    executedAt: t + 5,
    completedAt: t + 20,
    recurringId: null,
    scheduledFor: null,
    ...over,
  };
}
