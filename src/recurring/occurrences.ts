import type { RecurringJobRow } from "../db/recurring-jobs";
import type { NewJob } from "../db/jobs";
import { getJobType } from "../jobs/registry";
import type { RegisteredTypes } from "../http-types/resolve";
import { MAX_TIMEOUT_SECONDS } from "../model/job";
import { createLiveJobs } from "../scheduler/client";
import { ensureQueueRows, newJobId } from "../scheduler/job-ids";
import type { CreateOutput } from "../scheduler/live-protocol";

/**
 * The ordinary jobs that run a recurring job: one per slot, or with a null slot a manual run.
 * A slot's job is due at the slot itself (already past when it fires, so it runs at once).
 * `registered` (resolveRegisteredTypes at fire time) gives an HTTP type's current defaults: each
 * run is a new job, so it takes the type as it is when the run is made.
 */
export function occurrenceRows(def: RecurringJobRow, slots: (number | null)[], now: number, registered: RegisteredTypes): NewJob[] {
  const typeTimeoutMs = getJobType(def.type)?.timeoutMs ?? registered.get(def.type)?.timeoutMs;
  const timeoutMs = def.timeoutMs ?? (typeTimeoutMs == null ? null : Math.min(typeTimeoutMs, MAX_TIMEOUT_SECONDS * 1000));
  return slots.map((slot) => ({
    id: newJobId(def.queue, now),
    queue: def.queue,
    type: def.type,
    name: def.name,
    priority: def.priority,
    parameters: def.parameters,
    runAt: slot ?? now,
    maxRetries: def.maxRetries,
    timeoutMs,
    idempotencyKey: null,
    requestHash: null,
    createdAt: now,
    recurringId: def.id,
    scheduledFor: slot,
  }));
}

/**
 * Creates runs in their queue's scheduler, which announces them (job.created) and skips a slot it
 * already has. A registered HTTP type's definitions commit in D1 first, so no run is without one.
 */
export async function createOccurrences(env: Env, rows: NewJob[], registered: RegisteredTypes): Promise<CreateOutput> {
  if (!rows.length) return { created: [], skipped: [] };
  const definitions = registered.statements(env, rows);
  await Promise.all([ensureQueueRows(env, rows.map((r) => r.queue)), definitions.length ? env.DB.batch(definitions) : null]);
  return createLiveJobs(env, rows);
}
