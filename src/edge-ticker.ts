import type { Hono } from "hono";
import { readSettings } from "./config";
import { handleExecBatch } from "./execution/consumer";
import { reconcile, reconcileIfDue } from "./execution/reconciler";
import { appFor } from "./http/app";
import type { AppEnv } from "./http/app-env";
import type { JobTypeDefinition } from "./jobs/job-type";
import { ownJobType } from "./jobs/own-types";
import { installJobTypes } from "./jobs/registry";
import { installEventSinks } from "./events/publisher";
import { rollupSink } from "./metrics/rollup-sink";
import { webhookSink } from "./webhooks/sink";
import { realtimeSink } from "./realtime/sink";
import { serviceBindingJobType, type ServiceJobTypeConfig } from "./jobs/service-binding";
import { runDueMaintenance } from "./maintenance/tasks";
import { QueueScheduler } from "./scheduler/queue-scheduler";
import { RecurringScheduler } from "./recurring/recurring-scheduler";
import { RealtimeHub } from "./realtime/hub";
import { EndpointMonitor } from "./monitoring/endpoint-monitor";
import { handleEndpointChecksBatch } from "./monitoring/consumer";
import { ensureMonitorsRunning } from "./monitoring/client";
import { handleWebhookBatch } from "./webhooks/consumer";
import { rejectUnrecognised, routeBatch } from "./queue-router";

export { defineJobType } from "./jobs/own-types";
export { PermanentJobError, type JobContext, type JobTypeDefinition, type LogLevel } from "./jobs/job-type";
export { ServiceJobContext, type ServiceJobTypeConfig } from "./jobs/service-binding";
export { QueueScheduler, RecurringScheduler, RealtimeHub, EndpointMonitor };
export { listJobTypes, type JobTypeInfo, type JobTypeKind } from "./jobs/registry";

export type EdgeTickerOptions = {
  /** Job types whose code runs in this Worker, by the `type` name clients send. */
  jobTypes?: Record<string, JobTypeDefinition<any>>;
  /** Job types that run on another Worker through a service binding, by the `type` name clients send. */
  serviceJobTypes?: Record<string, ServiceJobTypeConfig>;
  /** More routes under the API base path, behind authentication (the repository mounts its test-only routes here). */
  extraRoutes?: Record<string, Hono<AppEnv>>;
};

export type EdgeTicker = {
  /** The Worker's default export. */
  handler: { fetch: ExportedHandlerFetchHandler<Env>; queue: ExportedHandlerQueueHandler<Env>; scheduled: ExportedHandlerScheduledHandler<Env> };
  /** The Durable Object classes the Worker must export under these names. */
  QueueScheduler: typeof QueueScheduler;
  RecurringScheduler: typeof RecurringScheduler;
  RealtimeHub: typeof RealtimeHub;
  EndpointMonitor: typeof EndpointMonitor;
};

/**
 * Makes a Worker an Edge Ticker deployment with its own job types beside the built-in ones.
 * Call it once, at the top of the Worker's module; it throws on a type that reuses a built-in or taken name.
 */
export function createEdgeTicker(options: EdgeTickerOptions = {}): EdgeTicker {
  // The Durable Objects run in this module's isolate, so they publish through these sinks too.
  installEventSinks([rollupSink, webhookSink, realtimeSink]);
  installJobTypes([
    ...Object.entries(options.jobTypes ?? {}).map(([name, def]) => ({ type: ownJobType(name, def), kind: "package" as const })),
    ...Object.entries(options.serviceJobTypes ?? {}).map(([name, config]) => ({ type: serviceBindingJobType(name, config), kind: "service-binding" as const })),
  ]);
  const extraRoutes = options.extraRoutes ?? {};
  const handler = {
    fetch(request, env, ctx) {
      if (readSettings(env).selfReconcile) reconcileIfDue(env, ctx);
      return appFor(env, extraRoutes).fetch(request, env, ctx);
    },
    async queue(batch, env, ctx) {
      if (readSettings(env).selfReconcile) reconcileIfDue(env, ctx);
      const routed = routeBatch(batch);
      rejectUnrecognised(batch.queue, routed.unrecognised);
      await Promise.all([
        routed.webhook && handleWebhookBatch(routed.webhook, env),
        routed.exec && handleExecBatch(routed.exec, env),
        routed.endpointChecks && handleEndpointChecksBatch(routed.endpointChecks, env),
      ]);
    },
    async scheduled(_controller, env, ctx) {
      ctx.waitUntil(reconcile(env));
      ctx.waitUntil(runDueMaintenance(env));
      ctx.waitUntil(ensureMonitorsRunning(env, readSettings(env).monitoring.shards));
    },
  } satisfies ExportedHandler<Env>;
  return { handler, QueueScheduler, RecurringScheduler, RealtimeHub, EndpointMonitor };
}
