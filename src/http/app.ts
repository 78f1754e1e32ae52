import { Hono } from "hono";
import { faultsApi } from "../api/faults";
import { meterApi } from "../api/meter";
import { exportApi } from "../api/export";
import { grafanaApi } from "../api/grafana";
import { jobsApi } from "../api/jobs";
import { jobsBulkApi } from "../api/jobs-bulk";
import { dashboardApi } from "../api/dashboard";
import { meApi } from "../api/me";
import { keysApi } from "../api/keys";
import { metricsApi } from "../api/metrics";
import { prometheusApi } from "../api/prometheus";
import { queuesApi } from "../api/queues";
import { recurringApi } from "../api/recurring"
import { realtimeApi, signalrHubApi } from "../api/realtime";
import { systemApi } from "../api/system";
import { wbtJobsApi } from "../api/wbt-jobs";
import { webhooksApi } from "../api/webhooks";
import { readSettings } from "../config";
import type { AppEnv } from "./app-env";
import { requireAuth } from "./auth";
import { ApiError, renderError } from "./errors";

const api = new Hono<AppEnv>()
  .route("/", systemApi)
  .use(requireAuth)
  .route("/me", meApi)
  .route("/jobs/recurring", recurringApi)
  .route("/jobs/bulk", jobsBulkApi)
  .route("/jobs", jobsApi)
  .route("/keys", keysApi)
  .route("/queues", queuesApi)
  .route("/_faults", faultsApi)
  .route("/_meter", meterApi)
  .route("/metrics", metricsApi)
  .route("/grafana", grafanaApi)
  .route("/export", exportApi)
  .route("/webhooks", webhooksApi)
  .route("/hub", signalrHubApi("tickerq"))
  .route("/", realtimeApi);

const apps = new Map<string, Hono<AppEnv>>();

/** The whole HTTP surface, mounted under the configured API base path. */
export function buildApp(basePath: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.onError(renderError);
  app.notFound((c) => renderError(new ApiError(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`), c));
  app.route(basePath || "/", api);
  app.route("/", dashboardApi);
  // Prometheus scrapes /metrics at the root, as the seed configures it.
  app.route("/", prometheusApi);
  // The WbtWebJob-compatible API keeps that service's own paths, outside the base path.
  app.use("/api/jobs/*", requireAuth).use("/api/jobs", requireAuth).route("/api/jobs", wbtJobsApi);
  // So is its SignalR hub (seed 003).
  app.use("/hubs/job-progress/*", requireAuth).use("/hubs/job-progress", requireAuth).route("/hubs/job-progress", signalrHubApi("job-progress"));
  return app;
}

export function appFor(env: Env): Hono<AppEnv> {
  const { basePath } = readSettings(env);
  let app = apps.get(basePath);
  if (!app) apps.set(basePath, (app = buildApp(basePath)));
  return app;
}
