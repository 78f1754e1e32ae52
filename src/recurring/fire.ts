import { jobInsertStatements } from "../db/jobs";
import { activeOccurrences, advanceCursorStatement, cursorGuard, getRecurringJob, type RecurringJobRow } from "../db/recurring-jobs";
import { resolveRegisteredTypes } from "../http-types/resolve";
import { cancelJob } from "../services/job-actions";
import { announceOccurrences, occurrenceRows } from "./occurrences";
import { planFires } from "./plan";
import { Schedule } from "./schedule";

export type FireResult = { exists: boolean; next: number | null };

// A fire that loses a race with an edit simply looks at the definition again; after a few
// lost races in a row the alarm comes back a moment later instead of spinning.
const MAX_TRIES = 3;
const RETRY_AFTER_RACES_MS = 1_000;

/**
 * Handles everything due for a recurring job at `now`: creates its runs (one job per slot, made
 * unique by recurring id + slot), then moves the D1 cursor to the next slot, in one transaction
 * guarded by the cursor it started from. Returns when the job fires next.
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
    const inserts = jobInsertStatements(env, rows, now, cursorGuard(def.id, cursor));
    const results = await env.DB.batch([...inserts, ...registered.statements(env, rows), advanceCursorStatement(env, def.id, cursor, plan.next)]);
    if (!results[results.length - 1].results.length) continue;
    const inserted = new Set(results.slice(0, inserts.length).flatMap((r) => r.results.map((x) => (x as { id: string }).id)));
    await announceOccurrences(env, rows.filter((r) => inserted.has(r.id)), now);
    if (plan.missed) console.log(`recurring job ${def.id}: missed slots since ${new Date(cursor).toISOString()} (${def.missedRunPolicy}); ${inserted.size} run(s) created`);
    return { exists: true, next: plan.next };
  }
}

/** The slots to create runs for, given earlier runs that are still pending or running. */
async function applyOverlapPolicy(env: Env, def: RecurringJobRow, slots: number[]): Promise<number[]> {
  if (!slots.length || def.overlapPolicy === "allow") return slots;
  // A run for one of these very slots is from an earlier try of this fire, not an earlier run.
  const earlier = (await activeOccurrences(env, def.id)).filter((o) => o.scheduledFor == null || !slots.includes(o.scheduledFor));
  if (!earlier.length) return slots;
  if (def.overlapPolicy === "skip") return [];
  await Promise.all(
    earlier.map((o) => cancelJob(env, o.id).catch((err) => console.warn(`could not cancel ${o.id} before the next run`, err))),
  );
  return slots;
}
