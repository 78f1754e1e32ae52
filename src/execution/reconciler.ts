import { queuesNeedingHeal } from "../db/job-recovery";
import { schedulerFor } from "../scheduler/client";
import { LOST_AFTER_MS } from "../scheduler/queue-scheduler";
import { resendStuckDeliveries } from "../webhooks/reconcile";

/**
 * The safety net behind "no job is lost": asks the scheduler of every queue that D1 says has
 * overdue pending work or expired leases to heal itself against D1, and resends webhook
 * deliveries whose queue message never went out or was lost.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<string[]> {
  const [queues] = await Promise.all([
    queuesNeedingHeal(env, now, LOST_AFTER_MS).then(async (queues) => {
      await Promise.all(queues.map((q) => schedulerFor(env, q).heal(q)));
      return queues;
    }),
    resendStuckDeliveries(env, now).catch((err) => console.error("resending stuck webhook deliveries failed", err)),
  ]);
  return queues;
}
