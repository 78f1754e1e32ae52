import { purgeFinishedDeliveries, takeStuckDeliveries } from "./deliveries";
import { enqueueDeliveries } from "./dispatch";

/** Sends again every delivery that is due but whose message never went out or was lost; returns how many. */
export async function resendStuckDeliveries(env: Env, now = Date.now()): Promise<number> {
  const ids = await takeStuckDeliveries(env, now);
  await enqueueDeliveries(env, ids);
  return ids.length;
}

/** The webhook part of the cron reconciler: resend what is stuck, drop what is past retention. */
export async function reconcileWebhooks(env: Env, now = Date.now()): Promise<void> {
  await Promise.all([resendStuckDeliveries(env, now), purgeFinishedDeliveries(env, now)]);
}
