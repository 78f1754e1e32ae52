import { ApiError } from "./errors";

/** Per-IP budget of failed authentications; the numbers are the AUTH_FAILURE_RATE_LIMITER binding's. */
const FAILURE_PERIOD_MS = 60_000;
/** Bounds the isolate's memory of refused clients; the oldest entries go first. */
const MAX_REMEMBERED_CLIENTS = 10_000;

const refusedUntil = new Map<string, number>();

/** Cloudflare sets CF-Connecting-IP on every request it forwards; local tools may not. */
export const clientIp = (req: Request): string => req.headers.get("cf-connecting-ip") ?? "unknown";

const tooMany = (retryAfterMs: number) =>
  new ApiError(429, "rate_limited", "Too many failed authentications from this address; slow down.", undefined, {
    "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });

/**
 * Before any token is looked at: a client that used up its failures is refused by this isolate
 * without hashing or a D1 lookup, for the rest of the period.
 */
export function refuseBlockedClient(ip: string, now: number): void {
  const until = refusedUntil.get(ip);
  if (until === undefined) return;
  if (until > now) throw tooMany(until - now);
  refusedUntil.delete(ip);
}

/** Counts one failed authentication against the client's address; throws 429 once it is over budget. */
export async function countFailedAuth(env: Env, ip: string, now: number): Promise<void> {
  const { success } = await env.AUTH_FAILURE_RATE_LIMITER.limit({ key: ip });
  if (success) return;
  if (refusedUntil.size >= MAX_REMEMBERED_CLIENTS) refusedUntil.delete(refusedUntil.keys().next().value!);
  refusedUntil.set(ip, now + FAILURE_PERIOD_MS);
  throw tooMany(FAILURE_PERIOD_MS);
}
