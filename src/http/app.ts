import { Hono } from "hono";
import { jobsApi } from "../api/jobs";
import { keysApi } from "../api/keys";
import { queuesApi } from "../api/queues";
import { realtimeApi, signalrHubApi } from "../api/realtime";
import { systemApi } from "../api/system";
import { wbtJobsApi } from "../api/wbt-jobs";
import { readSettings } from "../config";
import type { AppEnv } from "./app-env";
import { requireAuth } from "./auth";
import { ApiError, renderError } from "./errors";

const api = new Hono<AppEnv>()
  .route("/", systemApi)
  .use(requireAuth)
  .route("/jobs", jobsApi)
  .route("/keys", keysApi)
  .route("/queues", queuesApi)
  .route("/hub", signalrHubApi("tickerq"))
  .route("/", realtimeApi);

const apps = new Map<string, Hono<AppEnv>>();

/** The whole HTTP surface, mounted under the configured API base path. */
export function buildApp(basePath: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.onError(renderError);
  app.notFound((c) => renderError(new ApiError(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`), c));
  app.route(basePath || "/", api);
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
