import { waitUntil } from "cloudflare:workers";
import { createMiddleware } from "hono/factory";
import { findActiveApiKey, findActiveApiKeyById, LAST_USED_WRITE_EVERY_MS, touchApiKey, type ActiveApiKey } from "../db/api-keys";
import { redeemTicket, TICKET_PREFIX } from "../db/realtime-tickets";
import { constantTimeEqual } from "../lib/crypto";
import { SCOPES, hasScope, type Scope } from "../model/scopes";
import type { AppEnv, Principal } from "./app-env";
import { clientIp, countFailedAuth, refuseBlockedClient } from "./auth-failures";
import { ApiError } from "./errors";

const RATE_LIMIT_PERIOD_SECONDS = 10;
/** A shorter ADMIN_TOKEN is refused: it grants everything and is never rate limited, so it must not be guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
export const ADMIN_KEY_ID = "admin-token";

/**
 * The token from the Authorization header: the only place a token is read from on ordinary routes.
 * A bearer token, or HTTP Basic with the token as the password (any user name), for clients that
 * only know username/password logins (seed 002's SDKs).
 */
export function headerToken(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (!header) return null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  return basic ? basicPassword(basic[1]) : null;
}

function basicPassword(encoded: string): string | null {
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  const password = colon < 0 ? "" : decoded.slice(colon + 1);
  return password || null;
}

/**
 * The streaming routes also read `access_token` from the URL, because browsers' WebSocket and
 * EventSource cannot set headers. A ticket from POST /realtime/tickets is preferred there.
 */
export function streamToken(req: Request): string | null {
  return req.headers.has("authorization") ? headerToken(req) : new URL(req.url).searchParams.get("access_token");
}

let weakAdminTokenLogged = false;

/** ADMIN_TOKEN when it is set and long enough; a short one is refused (and said so once per isolate). */
function adminToken(env: Env): string | null {
  const token = env.ADMIN_TOKEN;
  if (!token) return null;
  if (token.length >= MIN_ADMIN_TOKEN_LENGTH) return token;
  if (!weakAdminTokenLogged) {
    weakAdminTokenLogged = true;
    console.error(`ADMIN_TOKEN is refused: it has ${token.length} characters, fewer than ${MIN_ADMIN_TOKEN_LENGTH}. Set a long random one (e.g. \`openssl rand -base64 32\`); until then it authenticates nothing.`);
  }
  return null;
}

const adminPrincipal = (): Principal => ({ id: ADMIN_KEY_ID, name: "ADMIN_TOKEN", scopes: SCOPES, rateLimited: false, expiresAt: null, lastUsedAt: null });
const keyPrincipal = (key: ActiveApiKey): Principal => ({ ...key, rateLimited: true });

export async function authenticate(env: Env, token: string | null, now = Date.now()): Promise<Principal | null> {
  if (!token) return null;
  const admin = adminToken(env);
  if (admin && (await constantTimeEqual(token, admin))) return adminPrincipal();
  const key = await findActiveApiKey(env, token, now);
  return key ? keyPrincipal(key) : null;
}

/** On the streaming routes: a single-use ticket, or (for clients that predate tickets) the token itself. */
export async function authenticateStream(env: Env, token: string | null, now = Date.now()): Promise<Principal | null> {
  if (!token?.startsWith(TICKET_PREFIX)) return authenticate(env, token, now);
  const keyId = await redeemTicket(env, token, now);
  if (keyId === ADMIN_KEY_ID) return adminToken(env) ? adminPrincipal() : null;
  const key = keyId ? await findActiveApiKeyById(env, keyId, now) : null;
  return key ? keyPrincipal(key) : null;
}

const unauthorized = () => new ApiError(401, "unauthorized", "A valid bearer token is required.", undefined, { "WWW-Authenticate": 'Bearer realm="edge-ticker"' });

/** Authenticates the requests it guards: per-IP failure budget first, then the token, then the per-key rate limit. */
function guard(tokenOf: (req: Request) => string | null, resolve: typeof authenticate) {
  return createMiddleware<AppEnv>(async (c, next) => {
    // Routers mounted inside each other can put a request under two guards: the first one decides.
    if (c.get("principal")) return next();
    const now = Date.now();
    const ip = clientIp(c.req.raw);
    refuseBlockedClient(ip, now);
    const principal = await resolve(c.env, tokenOf(c.req.raw), now);
    if (!principal) {
      await countFailedAuth(c.env, ip, now);
      throw unauthorized();
    }
    if (principal.rateLimited) {
      const { success } = await c.env.API_RATE_LIMITER.limit({ key: principal.id });
      if (!success) {
        throw new ApiError(429, "rate_limited", "Too many requests for this API key; slow down.", undefined, {
          "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS),
        });
      }
      if (principal.lastUsedAt == null || now - principal.lastUsedAt >= LAST_USED_WRITE_EVERY_MS) {
        waitUntil(touchApiKey(c.env, principal.id, now).catch((err) => console.warn("could not record API key use", err)));
      }
    }
    c.set("principal", principal);
    await next();
  });
}

/** Every route but the streaming ones: the token comes from the Authorization header only. */
export const requireAuth = guard(headerToken, authenticate);
/** The streaming routes (/ws, /events, SignalR hubs and their negotiate): header, `access_token` or a ticket. */
export const requireStreamAuth = guard(streamToken, authenticateStream);

export const requireScope = (scope: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!hasScope(c.get("principal").scopes, scope)) {
      throw new ApiError(403, "forbidden", `This token lacks the ${scope} scope.`);
    }
    await next();
  });
