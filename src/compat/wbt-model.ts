import { z } from "zod";
import type { JobRow } from "../db/schema";
import { iso } from "../lib/time";
import { getJobType } from "../jobs/registry";
import { maskJobParameters, SECRET_MASK } from "../jobs/job-secrets";
import type { JobStatus } from "../model/job";

/** WbtWebJob's JobType enum. */
export const WBT_JOB_TYPES = { BuiltIn: 1, Custom: 2, Http: 3 } as const;
/** WbtWebJob's JobStatus enum. */
export const WBT_STATUS: Record<JobStatus, number> = { pending: 1, running: 2, completed: 3, failed: 4, cancelled: 5 };

export const WbtCreateSchema = z.object({
  businessId: z.string().trim().min(1).max(200),
  jobType: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullish(),
  configuration: z.string().max(200_000),
});
export type WbtCreate = z.infer<typeof WbtCreateSchema>;

/** The seed's HTTP job configuration, read leniently (clients send what their old service accepted). */
const HttpConfiguration = z.object({
  url: z.string(),
  method: z.string().transform((m) => m.toUpperCase()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  authType: z.string().optional(),
  token: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  apiKeyHeader: z.string().optional(),
  apiKey: z.string().optional(),
  timeoutSeconds: z.number().optional(),
});

export type Mapped = { type: string; parameters: Record<string, unknown>; timeoutSeconds?: number };
export type MapError = { path: string; message: string };

/**
 * Maps a WbtWebJob request onto a registered job type:
 * Http (3) → `http` with the seed's configuration; BuiltIn (1) → the built-in type named by
 * `configuration.handler` (default `echo`, which returns the configuration); Custom (2) → the
 * registered type named by `configuration.handler` (in code, or an HTTP job type registered at
 * run time), the other keys being its parameters.
 */
export function mapWbtRequest(req: WbtCreate): Mapped | MapError {
  let config: unknown;
  try {
    config = JSON.parse(req.configuration);
  } catch {
    return { path: "configuration", message: "must be a JSON object encoded as a string" };
  }
  if (!config || typeof config !== "object" || Array.isArray(config)) return { path: "configuration", message: "must encode a JSON object" };
  const obj = config as Record<string, unknown>;
  if (req.jobType === WBT_JOB_TYPES.Http) {
    const parsed = HttpConfiguration.safeParse(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { path: `configuration.${issue.path.join(".")}`.replace(/\.$/, ""), message: issue.message };
    }
    const c = parsed.data;
    const auth = httpAuth(c);
    if (!("auth" in auth)) return auth;
    const parameters: Record<string, unknown> = { url: c.url, auth: auth.auth };
    if (c.method) parameters.method = c.method;
    if (c.headers) parameters.headers = c.headers;
    if (c.body !== undefined) parameters.body = c.body;
    if (c.timeoutSeconds !== undefined) parameters.timeoutSeconds = c.timeoutSeconds;
    return { type: "http", parameters };
  }
  const { handler, ...rest } = obj;
  if (handler !== undefined && typeof handler !== "string") return { path: "configuration.handler", message: "must be the name of a job type" };
  if (req.jobType === WBT_JOB_TYPES.BuiltIn) {
    if (handler === undefined) return { type: "echo", parameters: { message: obj } };
    if (!getJobType(handler)?.builtIn) return { path: "configuration.handler", message: `"${handler}" is not a built-in job type` };
    return { type: handler, parameters: rest };
  }
  if (handler === undefined) return { path: "configuration.handler", message: "a Custom job names its registered job type in configuration.handler" };
  if (getJobType(handler)?.builtIn) return { path: "configuration.handler", message: `"${handler}" is not a registered custom job type` };
  // A name not in code may be an HTTP job type registered at run time: job creation looks it up.
  return { type: handler, parameters: rest };
}

function httpAuth(c: z.infer<typeof HttpConfiguration>): { auth: Record<string, unknown> } | MapError {
  const none = { auth: { type: "none" } };
  switch ((c.authType ?? "none").toLowerCase()) {
    case "none":
      return none;
    case "bearer":
      // The seed's example puts the token in headers.Authorization; then there is nothing to add.
      return c.token ? { auth: { type: "bearer", token: c.token } } : none;
    case "basic":
      return c.username !== undefined ? { auth: { type: "basic", username: c.username, password: c.password ?? "" } } : none;
    case "apikey":
      return c.apiKey ? { auth: { type: "apiKey", headerName: c.apiKeyHeader ?? "X-API-Key", value: c.apiKey } } : none;
    default:
      return { path: "configuration.authType", message: "must be None, Basic, Bearer or ApiKey" };
  }
}

export type WbtRecord = { businessId: string; jobType: number; description: string | null; configuration: string };

/** A job in the seed's response shape; jobs created through the main API are described from their type. */
export const WbtJobSchema = z.object({
  id: z.string(),
  businessId: z.string().nullable(),
  jobType: z.number().int().describe("1 BuiltIn, 2 Custom, 3 Http"),
  name: z.string().nullable(),
  description: z.string().nullable(),
  status: z.number().int().describe("1 Pending, 2 Running, 3 Completed, 4 Failed, 5 Cancelled"),
  configuration: z.string().describe("a JSON object encoded as a string, credentials masked"),
  createdAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime().nullable(),
  startedAt: z.iso.datetime().nullable(),
  completedAt: z.iso.datetime().nullable(),
});

export function toWbtJob(job: JobRow, record: WbtRecord | null): z.output<typeof WbtJobSchema> {
  return {
    id: job.id,
    businessId: record?.businessId ?? null,
    jobType: record?.jobType ?? wbtTypeOf(job.type),
    name: job.name,
    description: record?.description ?? null,
    status: WBT_STATUS[job.status],
    configuration: record ? maskWbtConfiguration(record) : JSON.stringify(maskJobParameters(job.type, JSON.parse(job.parameters))),
    createdAt: iso(job.createdAt),
    updatedAt: job.updatedAt === job.createdAt ? null : iso(job.updatedAt),
    startedAt: iso(job.executedAt),
    completedAt: iso(job.completedAt),
  };
}

/**
 * The configuration string with its credentials shown as "***": for Http, `token`, `password`,
 * `apiKey` and the header values the http type treats as credentials; otherwise the credentials of
 * the type named by `handler`. Stored this way, and masked again on the way out for older rows.
 */
export function maskWbtConfiguration(record: Pick<WbtRecord, "jobType" | "configuration">): string {
  let config: unknown;
  try {
    config = JSON.parse(record.configuration);
  } catch {
    return record.configuration;
  }
  if (!config || typeof config !== "object" || Array.isArray(config)) return record.configuration;
  const { handler, ...rest } = config as Record<string, unknown>;
  if (record.jobType !== WBT_JOB_TYPES.Http) {
    const maskedRest = typeof handler === "string" ? maskJobParameters(handler, rest) : rest;
    return maskedRest === rest ? record.configuration : JSON.stringify({ ...config, ...(maskedRest as object) });
  }
  const masked: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  for (const key of ["token", "password", "apiKey"]) if (key in masked) masked[key] = SECRET_MASK;
  if (masked.headers !== undefined) masked.headers = (maskJobParameters("http", { headers: masked.headers }) as { headers: unknown }).headers;
  return JSON.stringify(masked);
}

function wbtTypeOf(type: string): number {
  if (type === "http") return WBT_JOB_TYPES.Http;
  return getJobType(type)?.builtIn ? WBT_JOB_TYPES.BuiltIn : WBT_JOB_TYPES.Custom;
}

/** Seed-style ids: a type prefix, the UTC creation time and a random suffix (BI_20231029120000_abc123). */
export function wbtJobId(jobType: number, now: number): string {
  const prefix = jobType === 1 ? "BI" : jobType === 2 ? "CU" : "HT";
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
  return `${prefix}_${stamp}_${rand}`;
}
