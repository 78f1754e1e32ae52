import { handleExecBatch } from "./execution/consumer";
import { reconcile, reconcileIfDue } from "./execution/reconciler";
import { appFor } from "./http/app";
import { runDueMaintenance } from "./maintenance/tasks";
import { handleWebhookBatch } from "./webhooks/consumer";
import { rejectUnrecognised, routeBatch } from "./queue-router";
import { countInvocation, meterConsumedBatch, meteredEnv } from "./metering/meter";

export { QueueScheduler } from "./scheduler/queue-scheduler";
export { RecurringScheduler } from "./recurring/recurring-scheduler";
export { RealtimeHub } from "./realtime/hub";

export default {
  fetch(request, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    reconcileIfDue(env, ctx);
    return appFor(env).fetch(request, env, ctx);
  },
  async queue(rawBatch, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    const batch = meterConsumedBatch(env, rawBatch);
    reconcileIfDue(env, ctx);
    const routed = routeBatch(batch);
    rejectUnrecognised(batch.queue, routed.unrecognised);
    await Promise.all([routed.webhook && handleWebhookBatch(routed.webhook, env), routed.exec && handleExecBatch(routed.exec, env)]);
  },
  async scheduled(_controller, rawEnv, ctx) {
    const env = meteredEnv(rawEnv);
    countInvocation(env);
    ctx.waitUntil(reconcile(env));
    ctx.waitUntil(runDueMaintenance(env));
  },
} satisfies ExportedHandler<Env>;
