import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { readSettings } from "../config";

/**
 * The dashboard's files are static assets (`[assets]` in wrangler.toml, served before the Worker);
 * the Worker only sends newcomers from `/` to it and tells it where the API is mounted.
 */
export const dashboardApi = new Hono<AppEnv>()
  .get("/", (c) => c.redirect("/dashboard/", 302))
  .get("/dashboard/settings.json", (c) => c.json({ apiBasePath: readSettings(c.env).basePath }, 200, { "Cache-Control": "no-store" }));
