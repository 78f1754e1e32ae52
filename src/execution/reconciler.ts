import { queuesNeedingHeal } from "../db/job-recovery";
import { schedulerFor } from "../scheduler/client";
import { LOST_AFTER_MS } from "../scheduler/queue-scheduler";

/**
 * The safety net behind "no job is lost": asks the scheduler of every queue that D1 says has
 * overdue pending work or expired leases to heal itself against D1.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<string[]> {
  const queues = await queuesNeedingHeal(env, now, LOST_AFTER_MS);
  await Promise.all(queues.map((q) => schedulerFor(env, q).heal(q)));
  return queues;
}
