import { z } from "zod";

/** The body of a `webhooks` queue message: the delivery's id only; the payload stays in D1. */
export const WebhookMessageSchema = z.object({ deliveryId: z.string().min(1) });
export type WebhookMessage = z.infer<typeof WebhookMessageSchema>;

const SEND_BATCH = 100;

/** Hands deliveries to the `webhooks` queue. Best effort: a delivery whose message is lost is resent by the reconciler. */
export async function enqueueDeliveries(env: Env, ids: string[], delaySeconds?: number): Promise<void> {
  for (let i = 0; i < ids.length; i += SEND_BATCH) {
    await env.WEBHOOK_QUEUE.sendBatch(ids.slice(i, i + SEND_BATCH).map((deliveryId) => ({ body: { deliveryId } satisfies WebhookMessage, delaySeconds })));
  }
}
