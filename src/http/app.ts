import { Hono } from "hono";
import { exportApi } from "../api/export";
import { grafanaApi } from "../api/grafana";
import { jobsApi } from "../api/jobs";
import { jobCallbacksApi } from "../api/job-callbacks";
import { jobTypesApi } from "../api/job-types";
import { jobsBulkApi } from "../api/jobs-bulk";
import { dashboardApi } from "../api/dashboard";
import { endpointsApi, statusApi } from "../api/endpoints";
import { docsApi } from "../api/docs";
import { buildOpenApi, type OpenApiDocument } from "../api/openapi";
import { meApi } from "../api/me";
import { keysApi } from "../api/keys";
import { metricsApi } from "../api/metrics";
import { prometheusApi } from "../api/prometheus";
import { queuesApi } from "../api/queues";
import { recurringApi } from "../api/recurring"
import { realtimeApi, signalrHubApi, ticketsApi } from "../api/realtime";
import { statusStreamsApi } from "../api/status-streams";
import { endpointGrafanaApi } from "../api/endpoint-grafana";
import { endpointMetricsApi } from "../api/endpoint-metrics";
import { endpointExportApi } from "../api/endpoint-export";
import { systemApi } from "../api/system";
import { wbtJobsApi } from "../api/wbt-jobs";
import { webhooksApi } from "../api/webhooks";
import { readSettings } from "../config";
import type { AppEnv } from "./app-env";
import { requireAuth } from "./auth";
import { corsForListedOrigins } from "./cors";
import { ApiError, renderError } from "./errors";

const coreApi = (docs: Hono<AppEnv>) => new Hono<AppEnv>()
  .route("/", systemApi)
  .route("/", docs)
  // The streaming routes authenticate themselves: they alone also take a token in the URL.
  .route("/hub", signalrHubApi("tickerq"))
  .route("/", realtimeApi)
  // Authenticated by each attempt's callback token, not by an API key.
  .route("/jobs", jobCallbacksApi)
  .use(requireAuth)
  .route("/realtime/tickets", ticketsApi)
  .route("/me", meApi)
  .route("/jobs/recurring", recurringApi)
  .route("/jobs/bulk", jobsBulkApi)
  .route("/jobs", jobsApi)
  .route("/job-types", jobTypesApi)
  .route("/keys", keysApi)
  .route("/queues", queuesApi)
  .route("/metrics", metricsApi)
  .route("/grafana", grafanaApi)
  .route("/export", exportApi)
  .route("/webhooks", webhooksApi);

export type ExtraRoutes = Record<string, Hono<AppEnv>>;
const NO_EXTRA: ExtraRoutes = {};

const apps = new WeakMap<ExtraRoutes, Map<string, Hono<AppEnv>>>();

/** The whole HTTP surface, mounted under the configured API base path; `extra` routes sit behind its authentication. */
export function buildApp(basePath: string, extra: ExtraRoutes = {}): Hono<AppEnv> {
  // Generated on first request from the routes registered below, so it lists exactly what this app serves.
  let document: OpenApiDocument | undefined;
  const api = coreApi(docsApi(() => (document ??= buildOpenApi(app.routes, basePath))));
  for (const [path, routes] of Object.entries(extra)) api.route(path, routes);
  const app = new Hono<AppEnv>({ strict: false });
  app.onError(renderError);
  app.notFound((c) => renderError(new ApiError(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`), c));
  // First, so that a preflight from a listed origin is answered before any authentication.
  app.use("*", corsForListedOrigins);
  // The WbtWebJob-compatible API keeps that service's own paths, outside the base path ("/api/jobs/*" covers "/api/jobs" too).
  // Ahead of the base path's routes, so with an empty base path its streaming hub is not put under the header-only guard.
  app.use("/api/jobs/*", requireAuth).route("/api/jobs", wbtJobsApi);
  // Seed 002's endpoint monitor keeps its own paths too.
  app.use("/api/endpoints/*", requireAuth).route("/api/endpoints", endpointsApi);
  app.use("/api/status", requireAuth).route("/api/status", statusApi);
  // So is its SignalR hub (seed 003), which authenticates itself like the other streaming routes.
  app.route("/hubs/job-progress", signalrHubApi("job-progress"));
  // Seed 002's monitoring surfaces keep its own /api paths, whatever the base path.
  app.route("/api", statusStreamsApi);
  app.use("/api/grafana/*", requireAuth).route("/api/grafana", endpointGrafanaApi);
  app.use("/api/metrics/*", requireAuth).route("/api/metrics", endpointMetricsApi);
  app.use("/api/export/*", requireAuth).route("/api/export", endpointExportApi);
  app.route(basePath || "/", api);
  app.route("/", dashboardApi);
  // Prometheus scrapes /metrics at the root, as the seed configures it.
  app.route("/", prometheusApi);
  return app;
}

export function appFor(env: Env, extra: ExtraRoutes = NO_EXTRA): Hono<AppEnv> {
  const { basePath } = readSettings(env);
  let byPath = apps.get(extra);
  if (!byPath) apps.set(extra, (byPath = new Map()));
  let app = byPath.get(basePath);
  if (!app) byPath.set(basePath, (app = buildApp(basePath, extra)));
  return app;
}
