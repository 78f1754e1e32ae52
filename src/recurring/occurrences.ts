import type { RecurringJobRow } from "../db/recurring-jobs";
import type { NewJob } from "../db/jobs";
import { deliverEvents } from "../events/publisher";
import { jobEventData, makeEvent } from "../model/events";
import { getJobType } from "../jobs/registry";
import type { RegisteredTypes } from "../http-types/resolve";
import { MAX_TIMEOUT_SECONDS } from "../model/job";
import { newId } from "../lib/ids";
import { armJobsBestEffort } from "../scheduler/client";
import { asStoredRow } from "../services/create-jobs";

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
    id: newId("job", now),
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

/** After the occurrences committed: hands them to their queue's scheduler and announces them (job.created). */
export async function announceOccurrences(env: Env, rows: NewJob[], now: number): Promise<void> {
  if (!rows.length) return;
  await armJobsBestEffort(
    env,
    rows.map((r) => ({ queue: r.queue, item: { jobId: r.id, attempt: 0, runAt: r.runAt, priority: r.priority } })),
  );
  await deliverEvents(env, rows.map((r) => makeEvent("job.created", jobEventData(asStoredRow(r, now), { status: "pending", previousStatus: null }), now)));
}
