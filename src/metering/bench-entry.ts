import { createEdgeTicker } from "../edge-ticker";
import { ownWorkerOptions } from "../own-worker";
import { countAlarm, countInvocation, meterConsumedBatch, meteredEnv, meterStorage } from "./meter";
import { meterApi } from "./meter-api";

/**
 * The cost benchmark's Worker (`npm run bench` starts it with `wrangler dev src/metering/bench-entry.ts`):
 * the repository's Worker with every billable operation counted and the counters at /_meter. The
 * production entry (src/index.ts) and createEdgeTicker know nothing of it.
 */
const ticker = createEdgeTicker({ ...ownWorkerOptions, extraRoutes: { ...ownWorkerOptions.extraRoutes, "/_meter": meterApi } });

export default {
  fetch(request, env, ctx) {
    countInvocation();
    return ticker.handler.fetch(request, meteredEnv(env), ctx);
  },
  queue(batch, env, ctx) {
    countInvocation();
    return ticker.handler.queue(meterConsumedBatch(batch), meteredEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    countInvocation();
    return ticker.handler.scheduled(controller, meteredEnv(env), ctx);
  },
} satisfies ExportedHandler<Env>;

type DurableObjectClass = new (...args: any[]) => { alarm?(): Promise<void> };

/** A Durable Object class whose storage, env bindings and alarms are counted. */
function metered<T extends DurableObjectClass>(Base: T): T {
  return class extends Base {
    constructor(...args: any[]) {
      const [ctx, env] = args as [DurableObjectState, Env];
      meterStorage(ctx);
      super(ctx, meteredEnv(env));
    }
    override async alarm(): Promise<void> {
      countAlarm();
      await super.alarm?.();
    }
  };
}

export const QueueScheduler = metered(ticker.QueueScheduler);
export const RecurringScheduler = metered(ticker.RecurringScheduler);
export const RealtimeHub = metered(ticker.RealtimeHub);
export const EndpointMonitor = metered(ticker.EndpointMonitor);
