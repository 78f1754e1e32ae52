import { handleExecBatch } from "./execution/consumer";
import { reconcile } from "./execution/reconciler";
import { appFor } from "./http/app";
import { handleWebhookBatch } from "./webhooks/consumer";
import { WEBHOOK_QUEUE_NAME } from "./webhooks/dispatch";

export { QueueScheduler } from "./scheduler/queue-scheduler";

export default {
  fetch(request, env, ctx) {
    return appFor(env).fetch(request, env, ctx);
  },
  async queue(batch, env, _ctx) {
    if (batch.queue === WEBHOOK_QUEUE_NAME) await handleWebhookBatch(batch, env);
    else await handleExecBatch(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(reconcile(env));
  },
} satisfies ExportedHandler<Env>;
