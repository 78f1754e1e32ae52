import { handleExecBatch } from "./execution/consumer";
import { reconcile, reconcileIfDue } from "./execution/reconciler";
import { readSettings } from "./config";
import { appFor } from "./http/app";
import { runDueMaintenance } from "./maintenance/tasks";
import { handleWebhookBatch } from "./webhooks/consumer";
import { WEBHOOK_QUEUE_NAME } from "./webhooks/dispatch";
import { countInvocation, meterConsumedBatch, meteredEnv } from "./metering/meter";

export { QueueScheduler } from "./scheduler/queue-scheduler";
export { RecurringScheduler } from "./recurring/recurring-scheduler";
export { RealtimeHub } from "./realtime/hub";

export default {
  fetch(request, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    if (readSettings(env).selfReconcile) reconcileIfDue(env, ctx);
    return appFor(env).fetch(request, env, ctx);
  },
  async queue(rawBatch, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    const batch = meterConsumedBatch(env, rawBatch);
    if (readSettings(env).selfReconcile) reconcileIfDue(env, ctx);
    if (batch.queue === WEBHOOK_QUEUE_NAME) await handleWebhookBatch(batch, env);
    else await handleExecBatch(batch, env);
  },
  async scheduled(_controller, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    ctx.waitUntil(reconcile(env));
    ctx.waitUntil(runDueMaintenance(env));
  },
} satisfies ExportedHandler<Env>;
