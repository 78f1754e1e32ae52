import { createMiddleware } from "hono/factory";
import { findActiveApiKey } from "../db/api-keys";
import { constantTimeEqual } from "../lib/crypto";
import { SCOPES, hasScope, type Scope } from "../model/scopes";
import type { AppEnv, Principal } from "./app-env";
import { ApiError } from "./errors";

const RATE_LIMIT_PERIOD_SECONDS = 10;

/** Reads the bearer token from the Authorization header, or from `access_token` (browsers' WebSocket/EventSource cannot set headers). */
export function bearerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : null;
  }
  return new URL(req.url).searchParams.get("access_token");
}

export async function authenticate(env: Env, token: string | null): Promise<Principal | null> {
  if (!token) return null;
  if (env.ADMIN_TOKEN && (await constantTimeEqual(token, env.ADMIN_TOKEN))) {
    return { id: "admin-token", name: "ADMIN_TOKEN", scopes: SCOPES, rateLimited: false };
  }
  const key = await findActiveApiKey(env, token, Date.now());
  return key ? { id: key.id, name: key.name, scopes: key.scopes, rateLimited: true } : null;
}

/** Authenticates every request it guards and applies the per-key rate limit. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const principal = await authenticate(c.env, bearerToken(c.req.raw));
  if (!principal) {
    throw new ApiError(401, "unauthorized", "A valid bearer token is required.", undefined, { "WWW-Authenticate": 'Bearer realm="edge-ticker"' });
  }
  if (principal.rateLimited) {
    const { success } = await c.env.API_RATE_LIMITER.limit({ key: principal.id });
    if (!success) {
      throw new ApiError(429, "rate_limited", "Too many requests for this API key; slow down.", undefined, {
        "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS),
      });
    }
  }
  c.set("principal", principal);
  await next();
});

export const requireScope = (scope: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!hasScope(c.get("principal").scopes, scope)) {
      throw new ApiError(403, "forbidden", `This token lacks the ${scope} scope.`);
    }
    await next();
  });
