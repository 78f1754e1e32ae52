import { z } from "zod";
import { checkTarget } from "../net/ssrf";
import { BlockedTargetError, guardedFetch } from "../net/guarded-fetch";
import { HeaderNameSchema, HeaderValueSchema } from "../net/headers";
import type { Settings } from "../config";
import type { ErrorDetail } from "../http/errors";
import { defineJobType, PermanentJobError } from "./job-type";

/** Response bodies are kept up to this size in the job's result. */
export const HTTP_RESULT_BODY_LIMIT = 64 * 1024;

const Auth = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("basic"), username: z.string(), password: z.string() }),
  z.strictObject({ type: z.literal("bearer"), token: HeaderValueSchema.min(1) }),
  z.strictObject({ type: z.literal("apiKey"), headerName: HeaderNameSchema.default("X-API-Key"), value: HeaderValueSchema.min(1) }),
]);

export const HttpParameters = z.strictObject({
  url: z.string().url(),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  headers: z.record(HeaderNameSchema, HeaderValueSchema).default({}),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  auth: Auth.default({ type: "none" }),
  timeoutSeconds: z.number().int().min(1).max(900).default(30),
  expectedStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  followRedirects: z.boolean().default(true),
});
export type HttpParameters = z.output<typeof HttpParameters>;

/**
 * Header values that describe the request rather than authenticate it. Every other header value is
 * treated as a credential (stored encrypted, shown as "***"): custom authentication headers have
 * no fixed names, so only a short allowlist is shown in the clear.
 */
export const HTTP_PLAIN_HEADERS: ReadonlySet<string> = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "cache-control",
  "content-language",
  "content-type",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "pragma",
  "user-agent",
]);

/** The credentials of an http job: the auth password, token or API key value, and non-allowlisted header values. */
export function httpSecretPaths(parameters: Record<string, unknown>): string[][] {
  const paths: string[][] = [];
  const { auth, headers } = parameters;
  if (isRecord(auth)) for (const key of ["password", "token", "value"]) if (key in auth) paths.push(["auth", key]);
  if (isRecord(headers)) for (const name of Object.keys(headers)) if (!HTTP_PLAIN_HEADERS.has(name.toLowerCase())) paths.push(["headers", name]);
  return paths;
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export const httpJob = defineJobType({
  name: "http",
  description: "Calls an HTTP(S) URL; fails on an unexpected status. Private and metadata addresses are refused.",
  parameters: HttpParameters,
  builtIn: true,
  timeoutMs: 900_000,
  check(params, settings) {
    return checkUrlParameter(params.url, settings);
  },
  secretPaths: httpSecretPaths,
  async run(params, ctx) {
    const headers = new Headers(params.headers);
    applyAuth(headers, params.auth);
    let body: string | undefined;
    if (params.body !== undefined && params.method !== "GET" && params.method !== "HEAD") {
      body = typeof params.body === "string" ? params.body : JSON.stringify(params.body);
      if (typeof params.body !== "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
    }
    let response;
    try {
      // The timeout starts once the request holds a connection slot, not while it waits for one.
      response = await guardedFetch(params.url, {
        method: params.method,
        headers,
        body,
        signal: ctx.signal,
        timeoutMs: params.timeoutSeconds * 1000,
        allowPrivate: ctx.settings.allowPrivateTargets,
        followRedirects: params.followRedirects,
        bodyLimit: HTTP_RESULT_BODY_LIMIT,
      });
    } catch (err) {
      if (err instanceof BlockedTargetError) throw new PermanentJobError(err.message);
      throw err;
    }
    const { url } = response;
    const result = {
      status: response.status,
      url,
      redirects: response.redirects,
      headers: Object.fromEntries(response.headers),
      body: response.body,
      bodyTruncated: response.bodyTruncated,
      durationMs: response.durationMs,
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
