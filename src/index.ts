import { handleExecBatch } from "./execution/consumer";
import { reconcile } from "./execution/reconciler";
import { appFor } from "./http/app";

export { QueueScheduler } from "./scheduler/queue-scheduler";
export { RealtimeHub } from "./realtime/hub";

export default {
  fetch(request, env, ctx) {
    return appFor(env).fetch(request, env, ctx);
  },
  async queue(batch, env, _ctx) {
    await handleExecBatch(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(reconcile(env));
  },
} satisfies ExportedHandler<Env>;
