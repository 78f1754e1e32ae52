import { z } from "zod";
import { EndpointChecksMessageSchema } from "./monitoring/check-messages";
import { ExecMessageBodySchema, type ExecMessageBody } from "./scheduler/messages";
import { WebhookMessageSchema } from "./webhooks/dispatch";

/**
 * Which consumer a queue message belongs to, told by its zod-parsed body rather than by the name of
 * the queue it came from: renaming a queue in wrangler.toml must not send its messages elsewhere.
 */
const RoutedMessageSchema = z.union([
  EndpointChecksMessageSchema.transform((body) => ({ kind: "endpointChecks" as const, body })),
  WebhookMessageSchema.transform((body) => ({ kind: "webhook" as const, body })),
  // Both the many-job body and the one-job body of messages sent before it.
  ExecMessageBodySchema.transform((body) => ({ kind: "exec" as const, body })),
]);

export type RoutedBatches = {
  webhook: MessageBatch<unknown> | null;
  exec: MessageBatch<ExecMessageBody> | null;
  endpointChecks: MessageBatch<unknown> | null;
  unrecognised: Message<unknown>[];
};

/** Splits a batch by message kind; each part keeps the batch's queue and its own ackAll/retryAll. */
export function routeBatch(batch: MessageBatch<unknown>): RoutedBatches {
  const parts = { webhook: [] as Message<unknown>[], exec: [] as Message<unknown>[], endpointChecks: [] as Message<unknown>[] };
  const unrecognised: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const parsed = RoutedMessageSchema.safeParse(message.body);
    if (parsed.success) parts[parsed.data.kind].push(message);
    else unrecognised.push(message);
  }
  const sub = (messages: Message<unknown>[]): MessageBatch<unknown> | null =>
    messages.length
      ? {
          queue: batch.queue,
          metadata: batch.metadata,
          messages,
          ackAll: () => messages.forEach((m) => m.ack()),
          retryAll: (options?: QueueRetryOptions) => messages.forEach((m) => m.retry(options)),
        }
      : null;
  // Every exec message's body passed ExecMessageBodySchema above, so its consumer need not parse it again.
  return {
    webhook: sub(parts.webhook),
    exec: sub(parts.exec) as MessageBatch<ExecMessageBody> | null,
    endpointChecks: sub(parts.endpointChecks),
    unrecognised,
  };
}

/**
 * A message no consumer understands is logged with its queue and body and sent back: after the
 * queue's max_retries it rests in the dead-letter queue, where it can be inspected, instead of
 * being acknowledged (lost) by a consumer it was never meant for.
 */
export function rejectUnrecognised(queue: string, messages: Message<unknown>[]): void {
  for (const message of messages) {
    console.error(`unrecognised message on queue "${queue}" (id ${message.id}, attempt ${message.attempts}); it goes to the dead-letter queue after its retries`, JSON.stringify(message.body)?.slice(0, 500));
    message.retry();
  }
}
