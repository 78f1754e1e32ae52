import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { readSettings } from "../config";
import type { AppEnv } from "./app-env";

// Headers a browser page needs to read: when to retry after a 429, whether a POST /jobs was a replay, an export's file name.
const EXPOSED = ["Retry-After", "Idempotent-Replayed", "Content-Disposition"];

const allowListed = cors({
  origin: (origin) => origin,
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  exposeHeaders: EXPOSED,
  maxAge: 600,
});

/**
 * CORS for the origins in CORS_ORIGINS only. Any other origin (or none configured) passes straight through
 * with no CORS header at all, so a preflight from it reaches the routes and gets their ordinary answer.
 */
export const corsForListedOrigins: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("origin");
  if (!origin || !readSettings(c.env).corsOrigins.includes(origin)) return next();
  return allowListed(c, next);
};
