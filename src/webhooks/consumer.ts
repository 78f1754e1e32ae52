import { readSettings, type Settings } from "../config";
import { deliverEvents } from "../events/publisher";
import { claimDelivery, failOrphanedDelivery, parseStoredEvent, recordAttempt, type Outcome } from "./deliveries";
import { WebhookMessageSchema } from "./dispatch";
import { retryDelaySeconds } from "./retry";
import { sendAttempt, type AttemptResult } from "./send";
import type { DeliveryRow, EndpointRow } from "./model";

/** The `webhooks` queue consumer: the deliveries of a batch are attempted concurrently. */
export async function handleWebhookBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const settings = readSettings(env);
  await Promise.all(batch.messages.map((m) => handleMessage(m, env, settings)));
}

async function handleMessage(message: Message<unknown>, env: Env, settings: Settings): Promise<void> {
  const parsed = WebhookMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    console.error("dropping malformed webhook message", parsed.error.issues);
    message.ack();
    return;
  }
  const { deliveryId } = parsed.data;
  try {
    const claim = await claimDelivery(env, deliveryId, Date.now());
    if (!claim) {
      // Finished, not yet due, being attempted by a duplicate message, or its endpoint is gone.
      await failOrphanedDelivery(env, deliveryId, Date.now());
      message.ack();
      return;
    }
    const { delivery, endpoint } = claim;
    const result = await attempt(env, endpoint, delivery, settings);
    const outcome = decide(endpoint, delivery.attempts, result);
    const alert = await recordAttempt(env, endpoint, delivery, result, outcome, Date.now());
    if (alert) await deliverEvents(env, [alert]);
    if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
    else message.ack();
  } catch (err) {
    // Only D1 can fail here (the attempt itself cannot throw): nothing was recorded, the queue
    // redelivers, and the claimed attempt's lease lets the reconciler resend the delivery if the queue gives up.
    console.error("webhook delivery could not be processed", err);
    message.retry({ delaySeconds: 5 });
  }
}

/**
 * The claimed attempt, whatever happens: an exception becomes a failed attempt that is recorded
 * and retried by the endpoint's policy. Left to the queue it would be redelivered, claimed and
 * thrown again without end, since nothing would count it.
 */
async function attempt(env: Env, endpoint: EndpointRow, delivery: DeliveryRow, settings: Settings): Promise<AttemptResult> {
  const started = Date.now();
  try {
    return await sendAttempt(env, endpoint, parseStoredEvent(delivery), settings);
  } catch (err) {
    console.error("webhook attempt threw", delivery.id, err);
    const error = `The delivery could not be attempted: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, status: null, latencyMs: Date.now() - started, error, responseBody: null, retryAfterSeconds: null, gone: false, permanent: false };
  }
}

function decide(endpoint: EndpointRow, attempts: number, result: AttemptResult): Outcome {
  if (result.ok) return { kind: "succeeded" };
  const retriesUsed = attempts - 1;
  if (result.permanent || retriesUsed >= endpoint.max_retries) return { kind: "failed" };
  const policy = { maxRetries: endpoint.max_retries, retryDelayMs: endpoint.retry_delay_ms, backoff: endpoint.backoff };
  return { kind: "retry", delaySeconds: retryDelaySeconds(policy, retriesUsed + 1, result.retryAfterSeconds) };
}
