import { z } from "zod";
import { checkTarget } from "../net/ssrf";
import { guardedFetch } from "../net/guarded-fetch";
import type { Settings } from "../config";
import type { ErrorDetail } from "../http/errors";
import { defineJobType, PermanentJobError } from "./job-type";

/** Response bodies are kept up to this size in the job's result. */
export const HTTP_RESULT_BODY_LIMIT = 64 * 1024;

const Auth = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("basic"), username: z.string(), password: z.string() }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1) }),
  z.strictObject({ type: z.literal("apiKey"), headerName: z.string().min(1).default("X-API-Key"), value: z.string().min(1) }),
]);

export const HttpParameters = z.strictObject({
  url: z.string().url(),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "is not a valid header name"), z.string()).default({}),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  auth: Auth.default({ type: "none" }),
  timeoutSeconds: z.number().int().min(1).max(900).default(30),
  expectedStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  followRedirects: z.boolean().default(true),
});
export type HttpParameters = z.output<typeof HttpParameters>;

export const httpJob = defineJobType({
  name: "http",
  description: "Calls an HTTP(S) URL; fails on an unexpected status. Private and metadata addresses are refused.",
  parameters: HttpParameters,
  builtIn: true,
  timeoutMs: 900_000,
  check(params, settings) {
    return checkUrlParameter(params.url, settings);
  },
  async run(params, ctx) {
    const headers = new Headers(params.headers);
    applyAuth(headers, params.auth);
    let body: string | undefined;
    if (params.body !== undefined && params.method !== "GET" && params.method !== "HEAD") {
      body = typeof params.body === "string" ? params.body : JSON.stringify(params.body);
      if (typeof params.body !== "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
    }
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(params.timeoutSeconds * 1000)]);
    const started = Date.now();
    let outcome;
    try {
      outcome = await guardedFetch(params.url, {
        method: params.method,
        headers,
        body,
        signal,
        allowPrivate: ctx.settings.allowPrivateTargets,
        followRedirects: params.followRedirects,
      });
    } catch (err) {
      if (err instanceof Error && err.name === "BlockedTargetError") throw new PermanentJobError(err.message);
      throw err;
    }
    const { response, url, redirects } = outcome;
    const text = await readLimited(response, HTTP_RESULT_BODY_LIMIT);
    const result = {
      status: response.status,
      url,
      redirects,
      headers: Object.fromEntries(response.headers),
      body: text.body,
      bodyTruncated: text.truncated,
      durationMs: Date.now() - started,
    };
    const ok = params.expectedStatus ? params.expectedStatus.includes(response.status) : response.ok;
    ctx.log(ok ? "Info" : "Error", `${params.method} ${url} answered ${response.status}`, undefined, "request");
    if (!ok) throw Object.assign(new Error(`HTTP ${response.status} from ${url}`), { result });
    return result;
  },
});

/** The SSRF guard on a job's `parameters.url`, as a validation detail when the URL is refused. */
export function checkUrlParameter(url: string, settings: Settings): ErrorDetail[] {
  const target = checkTarget(url, settings.allowPrivateTargets);
  return target.ok ? [] : [{ path: "parameters.url", message: `The URL ${target.reason}.` }];
}

function applyAuth(headers: Headers, auth: z.output<typeof Auth>) {
  if (auth.type === "basic") headers.set("authorization", `Basic ${btoa(`${auth.username}:${auth.password}`)}`);
  if (auth.type === "bearer") headers.set("authorization", `Bearer ${auth.token}`);
  if (auth.type === "apiKey") headers.set(auth.headerName, auth.value);
}

/** Reads a response body up to `limit` bytes (the rest is dropped). */
export async function readLimited(response: Response, limit: number): Promise<{ body: string; truncated: boolean }> {
  if (!response.body) return { body: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const all = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.byteLength, all.byteLength - offset));
    all.set(part, offset);
    offset += part.byteLength;
    if (offset >= all.byteLength) break;
  }
  return { body: new TextDecoder().decode(all), truncated };
}
