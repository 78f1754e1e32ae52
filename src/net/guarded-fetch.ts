import { checkTarget } from "./ssrf";
import { outboundSlots } from "./outbound-slots";
import { originOf } from "./redact";

export class BlockedTargetError extends Error {
  override name = "BlockedTargetError";
}

const MAX_REDIRECTS = 5;

/**
 * Headers that may follow a redirect to another origin. Everything else (Authorization, cookies,
 * API-key and other custom headers, which may all be credentials) stays with the origin it was
 * meant for, as browsers and fetch() do for Authorization.
 */
const CROSS_ORIGIN_SAFE_HEADERS = new Set(["accept", "accept-language", "accept-encoding", "cache-control", "pragma", "user-agent"]);
/** Headers that describe a request body, dropped with it (fetch's "request-body-header names"). */
const BODY_HEADERS = ["content-type", "content-encoding", "content-language", "content-location", "content-length"];

export type GuardedFetchInit = {
  method?: string;
  headers?: HeadersInit;
  body?: string;
  /** The caller's own cancellation (a job's cancel or lease); also ends the wait for a connection slot. */
  signal?: AbortSignal;
  /** Time allowed for the request, its redirects and reading the body, counted from when it holds a connection slot. */
  timeoutMs?: number;
  allowPrivate: boolean;
  followRedirects: boolean;
  /** Bytes of the response body to keep; the rest is not read. */
  bodyLimit: number;
};

export type GuardedResponse = {
  status: number;
  ok: boolean;
  headers: Headers;
  body: string;
  bodyTruncated: boolean;
  /** The URL that answered, after redirects. */
  url: string;
  redirects: number;
  /** From holding a connection slot to the end of the body read. */
  durationMs: number;
};

/**
 * fetch() that re-checks every redirect hop against the SSRF guard instead of letting the
 * runtime follow redirects blindly, drops credentials and the body when a hop changes origin, and
 * waits for one of the invocation's connection slots before its timeout starts. 303 (and 301/302
 * after POST) switch to GET without a body. A timeout throws a "TimeoutError" DOMException.
 */
export async function guardedFetch(input: string, init: GuardedFetchInit): Promise<GuardedResponse> {
  const release = await outboundSlots.acquire(init.signal);
  const timeout = init.timeoutMs === undefined ? undefined : AbortSignal.timeout(init.timeoutMs);
  try {
    const started = Date.now();
    const signals = [init.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length ? AbortSignal.any(signals) : undefined;
    let url = input;
    let method = init.method ?? "GET";
    let body = init.body;
    const headers = new Headers(init.headers);
    for (let redirects = 0; ; redirects++) {
      const check = checkTarget(url, init.allowPrivate);
      if (!check.ok) throw new BlockedTargetError(`Refused ${redirects ? "a redirect to " : ""}${originOf(url)}: it ${check.reason}.`);
      const response = await fetch(check.url.toString(), { method, headers, body, signal, redirect: "manual" });
      const location = response.headers.get("location");
      if (!init.followRedirects || response.status < 300 || response.status >= 400 || !location) {
        const read = await readLimited(response, init.bodyLimit, signal);
        return { status: response.status, ok: response.ok, headers: response.headers, ...read, url, redirects, durationMs: Date.now() - started };
      }
      if (redirects >= MAX_REDIRECTS) throw new BlockedTargetError(`Stopped after ${MAX_REDIRECTS} redirects.`);
      await response.body?.cancel();
      const next = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        for (const h of BODY_HEADERS) headers.delete(h);
      }
      if (next.origin !== check.url.origin) {
        body = undefined;
        for (const name of [...headers.keys()]) if (!CROSS_ORIGIN_SAFE_HEADERS.has(name)) headers.delete(name);
      }
      url = next.toString();
    }
  } catch (err) {
    if (timeout?.aborted && !init.signal?.aborted) throw new DOMException(`No answer within ${init.timeoutMs! / 1000} s`, "TimeoutError");
    throw err;
  } finally {
    release();
  }
}

/** Reads up to `limit` bytes of the body; a body cut off mid-way by the network keeps what was read. */
async function readLimited(response: Response, limit: number, signal: AbortSignal | undefined): Promise<{ body: string; bodyTruncated: boolean }> {
  if (!response.body) return { body: "", bodyTruncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > limit) {
        truncated = true;
        break;
      }
    }
  } catch {
    if (signal?.aborted) throw signal.reason;
    truncated = true;
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.byteLength, all.byteLength - offset));
    all.set(part, offset);
    offset += part.byteLength;
    if (offset >= all.byteLength) break;
  }
  return { body: new TextDecoder().decode(all), bodyTruncated: truncated };
}
