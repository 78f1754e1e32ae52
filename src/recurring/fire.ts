import { advanceCursorStatement, getRecurringJob, type RecurringJobRow } from "../db/recurring-jobs";
import { resolveRegisteredTypes } from "../http-types/resolve";
import { listLiveJobs } from "../scheduler/client";
import { cancelJob } from "../services/job-actions";
import { createOccurrences, occurrenceRows } from "./occurrences";
import { planFires } from "./plan";
import { Schedule } from "./schedule";

export type FireResult = { exists: boolean; next: number | null };

// A fire that loses a race with an edit simply looks at the definition again; after a few
// lost races in a row the alarm comes back a moment later instead of spinning.
const MAX_TRIES = 3;
const RETRY_AFTER_RACES_MS = 1_000;

/**
 * Handles everything due for a recurring job at `now`: creates its runs in its queue's scheduler
 * (one job per slot: the scheduler skips a slot it already has, so a repeated fire is harmless),
 * then moves the D1 cursor to the next slot, guarded by the cursor it started from. Runs are
 * created before the cursor moves, so a fire that stops in between loses no slot: the next one
 * makes it again, and the scheduler skips it. Returns when the job fires next.
 */
export async function fireDue(env: Env, recurringId: string, now: number): Promise<FireResult> {
  for (let tries = 0; ; tries++) {
    const def = await getRecurringJob(env, recurringId);
    if (!def) return { exists: false, next: null };
    if (!def.enabled || def.nextRunAt == null) return { exists: true, next: null };
    const cursor = def.nextRunAt;
    if (cursor > now) return { exists: true, next: cursor };
    if (tries === MAX_TRIES) return { exists: true, next: now + RETRY_AFTER_RACES_MS };

    const plan = planFires(new Schedule(def.cronExpression, def.timezone), cursor, now, def.missedRunPolicy);
    const registered = await resolveRegisteredTypes(env, [def.type]);
    const rows = occurrenceRows(def, await applyOverlapPolicy(env, def, plan.slots), now, registered);
    const { created } = await createOccurrences(env, rows, registered);
    const advanced = await advanceCursorStatement(env, def.id, cursor, plan.next).all();
    if (!advanced.results.length) continue;
    if (plan.missed) console.log(`recurring job ${def.id}: missed slots since ${new Date(cursor).toISOString()} (${def.missedRunPolicy}); ${created.length} run(s) created`);
    return { exists: true, next: plan.next };
  }
}

/** Most live runs of one recurring job looked at before a fire (more would mean its queue is stuck). */
const ACTIVE_RUNS_LIMIT = 1000;

/**
 * The slots to create runs for, given earlier runs that are still pending or running. Those are
 * live, so its queue's scheduler is asked (runs made before the definition moved to another queue
 * are not seen).
 */
async function applyOverlapPolicy(env: Env, def: RecurringJobRow, slots: number[]): Promise<number[]> {
  if (!slots.length || def.overlapPolicy === "allow") return slots;
  const { rows } = await listLiveJobs(env, def.queue, { recurringId: def.id }, ACTIVE_RUNS_LIMIT);
  const active = rows.filter((r) => r.status === "pending" || r.status === "running");
  // A run for one of these very slots is from an earlier try of this fire, not an earlier run.
  const earlier = active.filter((o) => o.scheduledFor == null || !slots.includes(o.scheduledFor));
  if (!earlier.length) return slots;
  if (def.overlapPolicy === "skip") return [];
  await Promise.all(
    earlier.map((o) => cancelJob(env, o.id).catch((err) => console.warn(`could not cancel ${o.id} before the next run`, err))),
  );
  return slots;
}
