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

export class QueueScheduler extends ticker.QueueScheduler {
  constructor(ctx: DurableObjectState, env: Env) {
    meterStorage(ctx);
    super(ctx, meteredEnv(env));
  }
  override async alarm(): Promise<void> {
    countAlarm();
    await super.alarm();
  }
}

export class RecurringScheduler extends ticker.RecurringScheduler {
  constructor(ctx: DurableObjectState, env: Env) {
    meterStorage(ctx);
    super(ctx, meteredEnv(env));
  }
  override async alarm(): Promise<void> {
    countAlarm();
    await super.alarm();
  }
}

export class RealtimeHub extends ticker.RealtimeHub {
  constructor(ctx: DurableObjectState, env: Env) {
    meterStorage(ctx);
    super(ctx, meteredEnv(env));
  }
  override async alarm(): Promise<void> {
    countAlarm();
    await super.alarm();
  }
}

export class EndpointMonitor extends ticker.EndpointMonitor {
  constructor(ctx: DurableObjectState, env: Env) {
    meterStorage(ctx);
    super(ctx, meteredEnv(env));
  }
  override async alarm(): Promise<void> {
    countAlarm();
    await super.alarm();
  }
}
