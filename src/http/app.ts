import { Hono } from "hono";
import { jobsApi } from "../api/jobs";
import { keysApi } from "../api/keys";
import { recurringApi } from "../api/recurring";
import { systemApi } from "../api/system";
import { readSettings } from "../config";
import type { AppEnv } from "./app-env";
import { requireAuth } from "./auth";
import { ApiError, renderError } from "./errors";

const api = new Hono<AppEnv>()
  .route("/", systemApi)
  .use(requireAuth)
  .route("/jobs/recurring", recurringApi)
  .route("/jobs", jobsApi)
  .route("/keys", keysApi);

const apps = new Map<string, Hono<AppEnv>>();

/** The whole HTTP surface, mounted under the configured API base path. */
export function buildApp(basePath: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.onError(renderError);
  app.notFound((c) => renderError(new ApiError(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`), c));
  app.route(basePath || "/", api);
  return app;
}

export function appFor(env: Env): Hono<AppEnv> {
  const { basePath } = readSettings(env);
  let app = apps.get(basePath);
  if (!app) apps.set(basePath, (app = buildApp(basePath)));
  return app;
}
