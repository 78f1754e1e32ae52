import { queuesWithLegacyJobs } from "../db/job-recovery";
import { findOverdueRecurringJobs } from "../db/recurring-jobs";
import { recurringSchedulerFor } from "../recurring/client";
import { schedulerFor } from "../scheduler/client";
import { ensureQueueRows, knownQueueNames } from "../scheduler/job-ids";
import { reconcileWebhooks } from "../webhooks/reconcile";

/** A recurring slot this overdue means its scheduler lost its alarm (or never got it). */
export const RECURRING_OVERDUE_MS = 60_000;

/**
 * The safety net behind "no job is lost": wakes the scheduler of every known queue (each owns its
 * live jobs and heals itself: expired leases, lost dispatches, its alarm, and once the jobs the
 * previous engine left in D1), re-arms the scheduler of every recurring job whose next slot is
 * overdue, resends webhook deliveries whose queue message never went out or was lost, and drops
 * webhook deliveries past retention. Returns the queues it healed.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<string[]> {
  const [known, legacy, recurring] = await Promise.all([knownQueueNames(env), queuesWithLegacyJobs(env), findOverdueRecurringJobs(env, now - RECURRING_OVERDUE_MS)]);
  // A queue known only from the previous engine's rows gets its row, so reads by id find its jobs.
  await ensureQueueRows(env, legacy);
  const queues = [...new Set([...known, ...legacy])];
  await Promise.all([
    ...queues.map((q) =>
      schedulerFor(env, q)
        .heal(q)
        .catch((err) => console.error(`could not heal queue ${q}`, err)),
    ),
    ...recurring.map((id) =>
      recurringSchedulerFor(env, id)
        .sync(id)
        .catch((err) => console.error(`could not re-arm recurring job ${id}`, err)),
    ),
    reconcileWebhooks(env, now).catch((err) => console.error("webhook reconciliation failed", err)),
  ]);
  return queues;
}

/** How often an isolate runs the reconciler on its own, between cron triggers. */
export const SELF_RECONCILE_EVERY_MS = 60_000;
let lastSelfReconcile = 0;

/**
 * Runs the reconciler from ordinary traffic at most once a minute per isolate. Cron triggers do
 * not fire under `wrangler dev`, so after a local restart this is what recovers work whose queue
 * messages died with the old process. Called only where SELF_RECONCILE is on (local development):
 * in production the cron does this, and ordinary (even unauthenticated) traffic must not start it.
 */
export function reconcileIfDue(env: Env, ctx: ExecutionContext, now = Date.now()): void {
  if (now - lastSelfReconcile < SELF_RECONCILE_EVERY_MS) return;
  lastSelfReconcile = now;
  ctx.waitUntil(reconcile(env, now).catch((err) => console.error("self-reconcile failed", err)));
}
