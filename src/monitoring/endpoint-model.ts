import ipaddr from "ipaddr.js";
import { z } from "zod";
import { iso } from "../lib/time";

/** Checks get at most this long, and always less than their interval, so one check ends before the next is due. */
export const MAX_TIMEOUT_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_INTERVAL_SECONDS = 60;
export const MAX_INTERVAL_SECONDS = 86_400;

export const ENDPOINT_TYPES = ["http", "tcp"] as const;
export const ENDPOINT_STATUSES = ["online", "offline", "unknown"] as const;
export type LiveStatus = (typeof ENDPOINT_STATUSES)[number];

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A host name or an IP address, as seed 002 writes `address`: never a URL, never with a port or path. */
export const AddressSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .refine((a) => !a.includes("://"), "must be a host name or IP address, not a URL (put scheme, port and path in their own fields)")
  .refine((a) => ipaddr.isValid(a) || (a.split(".").every((l) => HOST_LABEL.test(l)) && !/^[\d.]+$/.test(a)), "must be a host name or IP address")
  .transform((a) => a.toLowerCase());

const PortSchema = z.number().int().min(1).max(65_535);
const PathSchema = z.string().max(2000).regex(/^\/[^\s#]*$/, "must start with / and contain no spaces or #");

const fields = {
  name: z.string().trim().min(1).max(200),
  address: AddressSchema,
  type: z.enum(ENDPOINT_TYPES),
  port: PortSchema.nullable(),
  scheme: z.enum(["http", "https"]).nullable(),
  path: PathSchema.nullable(),
  method: z.enum(["GET", "HEAD"]).nullable(),
  expectedStatus: z.number().int().min(100).max(599).nullable(),
  timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS),
  group: z.string().trim().min(1).max(100).nullable(),
  intervalSeconds: z.number().int().min(1).max(MAX_INTERVAL_SECONDS),
  failureThreshold: z.number().int().min(1).max(100),
  enabled: z.boolean(),
};

export const CreateEndpointSchema = z.strictObject({
  name: fields.name,
  address: fields.address,
  type: fields.type.default("http"),
  port: fields.port.optional(),
  scheme: fields.scheme.optional().describe('http only; "https" by default'),
  path: fields.path.optional().describe('http only; "/" by default'),
  method: fields.method.optional().describe('http only; "GET" by default'),
  expectedStatus: fields.expectedStatus.optional().describe("http only; any 2xx or 3xx by default"),
  timeoutMs: fields.timeoutMs.optional().describe(`${DEFAULT_TIMEOUT_MS} by default, always below the interval`),
  group: fields.group.optional(),
  intervalSeconds: fields.intervalSeconds.default(DEFAULT_INTERVAL_SECONDS).describe("at least MIN_ENDPOINT_INTERVAL_SECONDS (10 by default)"),
  failureThreshold: fields.failureThreshold.default(1).describe("consecutive failed checks before the endpoint is offline"),
  enabled: fields.enabled.default(true),
});
export type CreateEndpoint = z.output<typeof CreateEndpointSchema>;

export const PatchEndpointSchema = z.strictObject({
  name: fields.name.optional(),
  address: fields.address.optional(),
  type: fields.type.optional(),
  port: fields.port.optional(),
  scheme: fields.scheme.optional(),
  path: fields.path.optional(),
  method: fields.method.optional(),
  expectedStatus: fields.expectedStatus.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  group: fields.group.optional(),
  intervalSeconds: fields.intervalSeconds.optional(),
  failureThreshold: fields.failureThreshold.optional(),
  enabled: fields.enabled.optional(),
});
export type PatchEndpoint = z.output<typeof PatchEndpointSchema>;

/** What a check needs to know about its endpoint; also the body of the monitor's RPCs and queue messages. */
export const EndpointConfigSchema = z.object({
  id: z.string().min(1).max(100),
  name: fields.name,
  address: fields.address,
  type: fields.type,
  port: PortSchema.nullable(),
  scheme: z.enum(["http", "https"]).nullable(),
  path: PathSchema.nullable(),
  method: z.enum(["GET", "HEAD"]).nullable(),
  expectedStatus: fields.expectedStatus,
  timeoutMs: fields.timeoutMs,
  group: fields.group,
  intervalSeconds: fields.intervalSeconds,
  failureThreshold: fields.failureThreshold,
  enabled: fields.enabled,
  shard: z.number().int().min(0),
});
export type EndpointConfig = z.infer<typeof EndpointConfigSchema>;

/** A field-level 400 for rules that span fields, in the shape validationError gives. */
export type FieldProblem = { path: string; message: string };

/**
 * The rules between fields, checked on the merged result of a create or a patch: a tcp endpoint needs
 * a port and takes none of the http fields; the timeout must end before the next check is due.
 */
export function endpointProblems(e: Omit<EndpointConfig, "id" | "shard">, minIntervalSeconds: number): FieldProblem | null {
  if (e.type === "tcp") {
    if (e.port == null) return { path: "port", message: "is required for a tcp endpoint" };
    for (const f of ["scheme", "path", "method", "expectedStatus"] as const) if (e[f] != null) return { path: f, message: "applies to http endpoints only" };
  }
  if (e.intervalSeconds < minIntervalSeconds) return { path: "intervalSeconds", message: `must be at least ${minIntervalSeconds} on this deployment` };
  if (e.timeoutMs >= e.intervalSeconds * 1000) return { path: "timeoutMs", message: "must be shorter than the interval" };
  return null;
}

/** Fills the defaults that depend on the type (seed 002: an http endpoint is https on its default port unless told otherwise). */
export function withTypeDefaults(e: Omit<EndpointConfig, "id" | "shard" | "timeoutMs"> & { timeoutMs?: number }): Omit<EndpointConfig, "id" | "shard"> {
  const timeoutMs = e.timeoutMs ?? Math.min(DEFAULT_TIMEOUT_MS, Math.max(100, e.intervalSeconds * 1000 - 1000));
  if (e.type === "tcp") return { ...e, timeoutMs };
  return { ...e, timeoutMs, scheme: e.scheme ?? "https", path: e.path ?? "/", method: e.method ?? "GET" };
}

/** The live part of an endpoint, as its monitor holds it (and as D1 has it after a flush). */
export type LiveState = {
  status: LiveStatus;
  previousStatus: LiveStatus | null;
  statusChangedAt: number | null;
  lastCheckedAt: number | null;
  lastResponseTimeMs: number | null;
  consecutiveFailures: number;
  checksSuccess: number;
  checksFailure: number;
};

export const EndpointSchema = z.object({
  id: z.string(),
  name: z.string(),
  address: z.string(),
  type: z.enum(ENDPOINT_TYPES),
  port: z.number().int().nullable(),
  scheme: z.enum(["http", "https"]).nullable(),
  path: z.string().nullable(),
  method: z.string().nullable(),
  expectedStatus: z.number().int().nullable(),
  timeoutMs: z.number().int(),
  group: z.string().nullable(),
  intervalSeconds: z.number().int(),
  failureThreshold: z.number().int(),
  enabled: z.boolean(),
  status: z.enum(ENDPOINT_STATUSES),
  previousStatus: z.enum(ENDPOINT_STATUSES).nullable(),
  responseTime: z.number().nullable().describe("ms, of the last successful check; null when the last check failed"),
  lastCheckedAt: z.iso.datetime().nullable(),
  statusChangedAt: z.iso.datetime().nullable(),
  checksSuccess: z.number().int(),
  checksFailure: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

/** One entry of GET /api/status: what seed 002's SDK `getLiveStatus` returns. */
export const LiveStatusSchema = EndpointSchema.pick({ id: true, name: true, address: true, group: true, type: true, status: true, previousStatus: true, responseTime: true, lastCheckedAt: true, statusChangedAt: true });
export type LiveStatusEntry = z.infer<typeof LiveStatusSchema>;

export function toEndpoint(config: EndpointConfig, live: LiveState, times: { createdAt: number; updatedAt: number }): Endpoint {
  const { shard: _shard, ...rest } = config;
  return {
    ...rest,
    status: live.status,
    previousStatus: live.previousStatus,
    responseTime: live.lastResponseTimeMs,
    lastCheckedAt: iso(live.lastCheckedAt),
    statusChangedAt: iso(live.statusChangedAt),
    checksSuccess: live.checksSuccess,
    checksFailure: live.checksFailure,
    createdAt: iso(times.createdAt)!,
    updatedAt: iso(times.updatedAt)!,
  };
}

export function toLiveStatus(e: Endpoint): LiveStatusEntry {
  return LiveStatusSchema.parse(e);
}

export const ListEndpointsQuery = z.strictObject({
  group: z.string().min(1).max(100).optional(),
  status: z.enum(ENDPOINT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const SchedulingQuery = z.strictObject({ samples: z.coerce.number().int().min(1).max(10_000).default(1000).describe("the last this many checks of each shard") });
const Ms = z.number().nullable();
export const SchedulingSchema = z.object({
  shards: z.array(
    z.object({
      shard: z.number().int(),
      endpoints: z.number().int(),
      enabled: z.number().int(),
      checks: z.number().int().describe("checks reported since the monitor object started"),
      samples: z.number().int(),
      latenessMs: z.object({ p50: Ms, p99: Ms, max: Ms }).describe("check start minus its due time"),
    }),
  ),
});

export const MAX_HISTORY_HOURS = 24 * 7;
export const HistoryQuery = z
  .strictObject({
    start_time: z.iso.datetime({ offset: true }).optional(),
    end_time: z.iso.datetime({ offset: true }).optional(),
    hours: z.coerce.number().int().min(1).max(MAX_HISTORY_HOURS).optional(),
  })
  .refine((q) => !(q.hours !== undefined && (q.start_time || q.end_time)), { message: "give either hours or start_time/end_time, not both", path: ["hours"] });

export const CheckSchema = z.object({
  timestamp: z.iso.datetime(),
  status: z.enum(["success", "failure"]),
  responseTime: z.number().nullable(),
  error: z.string().nullable(),
});
export const StatusChangeSchema = z.object({ timestamp: z.iso.datetime(), status: z.enum(["online", "offline"]), previousStatus: z.enum(ENDPOINT_STATUSES).nullable(), responseTime: z.number().nullable() });
export const HistorySchema = z.object({
  endpointId: z.string(),
  startTime: z.iso.datetime(),
  endTime: z.iso.datetime(),
  checks: z.array(CheckSchema),
  statusChanges: z.array(StatusChangeSchema),
});
