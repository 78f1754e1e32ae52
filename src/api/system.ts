import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";

/** The health check, which needs no token (nor do the OpenAPI document and its docs page, in ./docs). */
// Annotated so the package build can emit declarations (the inferred route type is too large to serialise).
export const systemApi: Hono<AppEnv> = new Hono<AppEnv>()
  .get("/health", async (c) => {
    try {
      await c.env.DB.prepare("SELECT 1").first();
      return c.json({ status: "healthy", timestamp: new Date().toISOString() });
    } catch {
      return c.json({ status: "unhealthy", timestamp: new Date().toISOString(), reason: "D1 is unreachable" }, 503);
    }
  });
