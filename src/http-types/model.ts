import { z } from "zod";
import { iso } from "../lib/time";
import { MAX_RESULT_BYTES, TimeoutSecondsSchema } from "../model/job";

export const HTTP_TYPE_DEFAULTS = { timeoutSeconds: 30, maxRetries: 3, callbackTimeoutSeconds: 3600 };
/** The longest a job may wait for its service's callback after a 202 (7 days). */
export const MAX_CALLBACK_TIMEOUT_SECONDS = 7 * 86_400;

export const JobTypeNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9._:-]{0,99}$/, "must be 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter");

const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "is not a valid header name");
/** Headers the delivery sets itself; a registration may not override them. */
const RESERVED_HEADERS = ["content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature", "x-tickerq-signature"];
const Headers = z
  .record(HeaderName, z.string().max(4096))
  .refine((h) => Object.keys(h).length <= 20, "at most 20 headers")
  .refine((h) => !Object.keys(h).some((k) => RESERVED_HEADERS.includes(k.toLowerCase())), `may not set ${RESERVED_HEADERS.join(", ")}`);

const Fields = {
  url: z.string().url(),
  description: z.string().max(1000).nullable(),
  parameters: z.record(z.string(), z.unknown()).nullable().describe("a JSON Schema (2020-12) with type object; null accepts any object"),
  timeoutSeconds: TimeoutSecondsSchema.describe("how long one delivery request may take"),
  maxRetries: z.number().int().min(0).max(25),
  callbackTimeoutSeconds: z.number().int().min(1).max(MAX_CALLBACK_TIMEOUT_SECONDS).describe("how long an attempt answered 202 waits for its callback"),
  headers: Headers,
};

/** POST /job-types */
export const RegisterHttpJobTypeSchema = z.strictObject({
  name: JobTypeNameSchema,
  url: Fields.url,
  description: Fields.description.optional(),
  parameters: Fields.parameters.optional(),
  timeoutSeconds: Fields.timeoutSeconds.default(HTTP_TYPE_DEFAULTS.timeoutSeconds),
  maxRetries: Fields.maxRetries.default(HTTP_TYPE_DEFAULTS.maxRetries),
  callbackTimeoutSeconds: Fields.callbackTimeoutSeconds.default(HTTP_TYPE_DEFAULTS.callbackTimeoutSeconds),
  headers: Fields.headers.default({}),
});
export type RegisterHttpJobType = z.output<typeof RegisterHttpJobTypeSchema>;

/** PATCH /job-types/{name}: absent fields stay; `headers` replaces them all. */
export const PatchHttpJobTypeSchema = z
  .strictObject({
    url: Fields.url.optional(),
    description: Fields.description.optional(),
    parameters: Fields.parameters.optional(),
    timeoutSeconds: Fields.timeoutSeconds.optional(),
    maxRetries: Fields.maxRetries.optional(),
    callbackTimeoutSeconds: Fields.callbackTimeoutSeconds.optional(),
    headers: Fields.headers.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "give at least one field to change");
export type PatchHttpJobType = z.output<typeof PatchHttpJobTypeSchema>;

const int = z.number().int();
export const HttpJobTypeRowSchema = z.object({
  name: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  parameters_schema: z.string().nullable(),
  timeout_ms: int,
  max_retries: int,
  callback_timeout_ms: int,
  header_names: z.string().transform((s) => JSON.parse(s) as string[]),
  credentials: z.string(),
  created_at: int,
  updated_at: int,
});
export type HttpJobTypeRow = z.output<typeof HttpJobTypeRowSchema>;

/** Any object, for a type registered without a schema. */
export const ANY_PARAMETERS = { type: "object" };

/** A registered HTTP job type as the API shows it (never its secret or header values). */
export const HttpJobTypeSchema = z.object({
  name: z.string(),
  kind: z.literal("http"),
  description: z.string(),
  url: z.string(),
  parameters: z.unknown().describe("JSON Schema of the parameters"),
  timeoutSeconds: z.number(),
  maxRetries: z.number().int(),
  callbackTimeoutSeconds: z.number(),
  headers: z.array(z.string()).describe("custom header names; their values are never shown"),
  createdAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime().nullable(),
});

export function toHttpJobType(row: HttpJobTypeRow): z.output<typeof HttpJobTypeSchema> {
  return {
    name: row.name,
    kind: "http" as const,
    description: row.description ?? `Delivered to ${new URL(row.url).origin}`,
    url: row.url,
    parameters: row.parameters_schema ? (JSON.parse(row.parameters_schema) as unknown) : ANY_PARAMETERS,
    timeoutSeconds: row.timeout_ms / 1000,
    maxRetries: row.max_retries,
    callbackTimeoutSeconds: row.callback_timeout_ms / 1000,
    headers: row.header_names,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** POST /jobs/{id}/attempts/{n}/complete */
export const CompleteCallbackSchema = z.strictObject({
  result: z
    .unknown()
    .optional()
    .refine((r) => (JSON.stringify(r ?? null) ?? "").length <= MAX_RESULT_BYTES, `must be at most ${MAX_RESULT_BYTES / 1024} KB as JSON`),
});
/** POST /jobs/{id}/attempts/{n}/fail: `retry: false` fails the job without using its retries. */
export const FailCallbackSchema = z.strictObject({ error: z.string().min(1).max(4000), retry: z.boolean().default(true) });
export const ProgressCallbackSchema = z.strictObject({ percent: z.number().min(0).max(100), message: z.string().max(1000).optional() });
const LogLineSchema = z.strictObject({
  level: z.enum(["Debug", "Info", "Warning", "Error"]).default("Info"),
  message: z.string().min(1).max(4000),
  details: z.string().max(16_000).optional(),
  stepName: z.string().max(200).optional(),
});
export const LogsCallbackSchema = z.strictObject({ lines: z.array(LogLineSchema).min(1).max(100) });
export const AttemptParamsSchema = z.object({ id: z.string().min(1).max(100), n: z.coerce.number().int().min(1) });
