import { queuesNeedingHeal } from "../db/job-recovery";
import { schedulerFor } from "../scheduler/client";
import { LOST_AFTER_MS } from "../scheduler/queue-scheduler";
import { reconcileWebhooks } from "../webhooks/reconcile";

/**
 * The safety net behind "no job is lost": asks the scheduler of every queue that D1 says has
 * overdue pending work or expired leases to heal itself against D1, resends webhook deliveries
 * whose queue message never went out or was lost, and drops webhook deliveries past retention.
 */
export async function reconcile(env: Env, now = Date.now()): Promise<string[]> {
  const [queues] = await Promise.all([
    queuesNeedingHeal(env, now, LOST_AFTER_MS).then(async (queues) => {
      await Promise.all(queues.map((q) => schedulerFor(env, q).heal(q)));
      return queues;
    }),
    reconcileWebhooks(env, now).catch((err) => console.error("webhook reconciliation failed", err)),
  ]);
  return queues;
}
