import { z } from "zod";
import { EventTypeSchema } from "../model/events";
import { QueueNameSchema, TimeSpanSchema } from "../model/job";
import { formatTimeSpan } from "../lib/time";
import { HeaderNameSchema, HeaderValueSchema } from "../net/headers";

/** Events an endpoint can subscribe to: those committed with their state change (outbox), so none is lost. */
// Progress and log lines are ephemeral, and a created or requeued job has not changed state durably yet.
export const WebhookEventSchema = EventTypeSchema.exclude(["job.created", "job.requeued", "job.progress", "job.log"]);
export const WEBHOOK_EVENTS = WebhookEventSchema.options;
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;
export const isWebhookEvent = (type: string): type is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(type);

export const FORMATS = ["json", "slack", "teams", "servicenow", "jira", "splunk-hec", "template"] as const;
export const FormatSchema = z.enum(FORMATS);
export type Format = z.infer<typeof FormatSchema>;

export const BACKOFFS = ["exponential", "linear", "fixed"] as const;

/** Headers the delivery sets itself; a custom header may not replace them. */
const RESERVED_HEADERS = ["content-type", "content-length", "host", "x-tickerq-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "user-agent"];
const HeadersSchema = z
  .record(HeaderNameSchema, HeaderValueSchema.max(4096))
  .refine((h) => Object.keys(h).length <= 20, "at most 20 headers")
  .refine((h) => !Object.keys(h).some((k) => RESERVED_HEADERS.includes(k.toLowerCase())), `must not set ${RESERVED_HEADERS.join(", ")}`);

const MAX_RETRY_DELAY_MS = 3_600_000;
const RetryDelaySchema = TimeSpanSchema.refine((ms) => ms >= 1000 && ms <= MAX_RETRY_DELAY_MS, 'must be between "00:00:01" and "01:00:00"');

/** Absent fields take the defaults on creation (3, "00:00:30", exponential) and stay as they are on PATCH. */
export const RetryPolicySchema = z.strictObject({
  maxRetries: z.number().int().min(0).max(10).optional().describe("retries after the first attempt, default 3"),
  retryDelay: RetryDelaySchema.optional().describe('first retry delay, "hh:mm:ss", default "00:00:30"'),
  backoff: z.enum(BACKOFFS).optional().describe("exponential (default): delay × 2^(retry−1); linear: delay × retry; fixed: delay"),
});

const Text = (max: number) => z.string().trim().min(1).max(max);

/** Per-format settings; `token` (Splunk) is stored encrypted with the secrets and never returned. */
export const FormatOptionsSchemas = {
  json: z.strictObject({}),
  slack: z.strictObject({ channel: Text(80).optional(), username: Text(80).optional(), iconEmoji: Text(80).optional() }),
  teams: z.strictObject({ title: Text(200).optional() }),
  servicenow: z.strictObject({
    category: Text(80).optional(),
    subcategory: Text(80).optional(),
    callerId: Text(80).optional(),
    impact: z.enum(["1", "2", "3"]).optional(),
    assignmentGroup: Text(80).optional(),
  }),
  jira: z.strictObject({ projectKey: z.string().regex(/^[A-Z][A-Z0-9_]{0,49}$/, "must be a Jira project key such as OPS"), issueType: Text(80).optional() }),
  "splunk-hec": z.strictObject({
    token: Text(512),
    index: Text(80).optional(),
    source: Text(200).optional(),
    sourcetype: Text(200).optional(),
    host: Text(200).optional(),
  }),
  template: z.strictObject({
    template: z.union([z.string().min(1).max(65_536), z.record(z.string(), z.unknown()), z.array(z.unknown())]),
    contentType: z.string().regex(/^[\w.+-]+\/[\w.+-]+(;.*)?$/).optional(),
  }),
} satisfies Record<Format, z.ZodType>;

const SecretSchema = z.string().min(16, "must be at least 16 characters").max(256).regex(/^\S+$/, "must not contain spaces");

const FiltersSchema = z.strictObject({
  queues: z.array(QueueNameSchema).min(1).max(50).optional().describe("only events of these queues"),
  jobTypes: z.array(z.string().min(1).max(100)).min(1).max(50).optional().describe("only job events of these job types"),
});

const EndpointFields = {
  url: z.string().max(2048),
  description: z.string().max(500).nullable().optional(),
  events: z.array(WebhookEventSchema).min(1).max(WEBHOOK_EVENTS.length * 2),
  secret: SecretSchema.optional().describe("generated (whsec_…) when omitted; shown once"),
  format: FormatSchema.default("json"),
  formatOptions: z.record(z.string(), z.unknown()).optional(),
  headers: HeadersSchema.optional(),
  retryPolicy: RetryPolicySchema.optional(),
  timeoutSeconds: z.number().int().min(1).max(30).optional().describe("per attempt, default 10"),
  disableAfterFailures: z.number().int().min(1).max(1000).optional().describe("consecutive failed deliveries before the endpoint is disabled, default 10"),
  filters: FiltersSchema.nullable().optional(),
  enabled: z.boolean().optional(),
};

export const CreateWebhookSchema = z.strictObject(EndpointFields);
export type CreateWebhook = z.output<typeof CreateWebhookSchema>;

/** PATCH: absent fields stay; `secret` is changed only through rotation. */
export const PatchWebhookSchema = z.strictObject({ ...EndpointFields, url: EndpointFields.url.optional(), events: EndpointFields.events.optional(), format: FormatSchema.optional(), secret: z.never({ error: "is changed with POST /webhooks/{id}/rotate-secret" }).optional() });
export type PatchWebhook = z.output<typeof PatchWebhookSchema>;

export const RotateSecretSchema = z.strictObject({
  secret: SecretSchema.optional(),
  overlap: TimeSpanSchema.refine((ms) => ms <= 7 * 86_400_000, "must be at most 7 days").default(86_400_000).describe('how long the old secret keeps signing too, default "1.00:00:00"'),
});

export const ListDeliveriesQuery = z.strictObject({
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
  event: z.string().max(50).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const int = z.number().int();
const nint = int.nullable();
const jsonArray = z.string().transform((s, ctx) => {
  const parsed = z.array(z.string()).safeParse(JSON.parse(s));
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: "is not a JSON array of strings" });
    return z.NEVER;
  }
  return parsed.data;
});

/** A `webhook_endpoints` row as read back from D1. */
export const EndpointRowSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: jsonArray,
  filter_queues: jsonArray.nullable(),
  filter_job_types: jsonArray.nullable(),
  format: FormatSchema,
  format_options: z.string().transform((s) => z.record(z.string(), z.unknown()).parse(JSON.parse(s))),
  header_names: jsonArray,
  credentials: z.string(),
  previous_secret_expires_at: nint,
  max_retries: int,
  retry_delay_ms: int,
  backoff: z.enum(BACKOFFS),
  timeout_ms: int,
  disable_after_failures: int,
  enabled: int.transform((v) => v === 1),
  disabled_reason: z.string().nullable(),
  disabled_at: nint,
  consecutive_failures: int,
  succeeded_deliveries: int,
  failed_deliveries: int,
  last_success_at: nint,
  last_failure_at: nint,
  created_at: int,
  updated_at: int,
});
export type EndpointRow = z.output<typeof EndpointRowSchema>;

export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;

export const DeliveryRowSchema = z.object({
  id: z.string(),
  endpoint_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  payload: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: int,
  next_attempt_at: nint,
  sent_at: nint,
  response_status: nint,
  latency_ms: nint,
  error: z.string().nullable(),
  redelivery_of: z.string().nullable(),
  created_at: int,
  updated_at: int,
  completed_at: nint,
});
export type DeliveryRow = z.output<typeof DeliveryRowSchema>;

export const AttemptRowSchema = z.object({
  delivery_id: z.string(),
  attempt: int,
  started_at: int,
  response_status: nint,
  latency_ms: nint,
  error: z.string().nullable(),
  response_body: z.string().nullable(),
});
export type AttemptRow = z.output<typeof AttemptRowSchema>;

/** The event a delivery carries, as stored in its payload column. */
export const StoredEventSchema = z.object({ id: z.string(), type: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) });
export type StoredEvent = z.output<typeof StoredEventSchema>;

const isoOrNull = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

const IsoOrNull = z.iso.datetime().nullable();

/** An endpoint as the API shows it: never its secrets, custom header values or Splunk token. */
export const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()).describe(`subscribed events: ${WEBHOOK_EVENTS.join(", ")}`),
  format: FormatSchema,
  formatOptions: z.record(z.string(), z.unknown()),
  headers: z.record(z.string(), z.literal("***")).describe("custom header names; their values are never shown"),
  filters: z.object({ queues: z.array(z.string()).optional(), jobTypes: z.array(z.string()).optional() }).nullable(),
  retryPolicy: z.object({ maxRetries: z.number().int(), retryDelay: z.string().nullable(), backoff: z.enum(BACKOFFS) }),
  timeoutSeconds: z.number(),
  disableAfterFailures: z.number().int().nullable(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  disabledAt: IsoOrNull,
  previousSecretExpiresAt: IsoOrNull,
  health: z.object({
    consecutiveFailures: z.number().int(),
    succeededDeliveries: z.number().int(),
    failedDeliveries: z.number().int(),
    successRate: z.number().nullable(),
    lastSuccessAt: IsoOrNull,
    lastFailureAt: IsoOrNull,
  }),
  createdAt: IsoOrNull,
  updatedAt: IsoOrNull,
});

export function toWebhook(row: EndpointRow): z.output<typeof WebhookSchema> {
  const { token: _token, ...formatOptions } = row.format_options;
  const finished = row.succeeded_deliveries + row.failed_deliveries;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    format: row.format,
    formatOptions,
    headers: Object.fromEntries(row.header_names.map((h) => [h, "***"])),
    filters: row.filter_queues || row.filter_job_types ? { queues: row.filter_queues ?? undefined, jobTypes: row.filter_job_types ?? undefined } : null,
    retryPolicy: { maxRetries: row.max_retries, retryDelay: formatTimeSpan(row.retry_delay_ms), backoff: row.backoff },
    timeoutSeconds: row.timeout_ms / 1000,
    disableAfterFailures: row.disable_after_failures,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    disabledAt: isoOrNull(row.disabled_at),
    previousSecretExpiresAt: row.previous_secret_expires_at != null && row.previous_secret_expires_at > Date.now() ? isoOrNull(row.previous_secret_expires_at) : null,
    health: {
      consecutiveFailures: row.consecutive_failures,
      succeededDeliveries: row.succeeded_deliveries,
      failedDeliveries: row.failed_deliveries,
      successRate: finished ? Math.round((row.succeeded_deliveries / finished) * 10_000) / 10_000 : null,
      lastSuccessAt: isoOrNull(row.last_success_at),
      lastFailureAt: isoOrNull(row.last_failure_at),
    },
    createdAt: isoOrNull(row.created_at),
    updatedAt: isoOrNull(row.updated_at),
  };
}

export const DeliverySchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  event: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  responseCode: z.number().int().nullable(),
  latencyMs: z.number().nullable(),
  error: z.string().nullable(),
  nextRetryAt: IsoOrNull,
  redeliveryOf: z.string().nullable(),
  createdAt: IsoOrNull,
  completedAt: IsoOrNull,
  history: z
    .array(
      z.object({
        attempt: z.number().int(),
        at: IsoOrNull,
        responseCode: z.number().int().nullable(),
        latencyMs: z.number().nullable(),
        error: z.string().nullable(),
        responseBody: z.string().nullable(),
      }),
    )
    .optional(),
});

export function toDelivery(row: DeliveryRow, attempts?: AttemptRow[]): z.output<typeof DeliverySchema> {
  return {
    id: row.id,
    webhookId: row.endpoint_id,
    eventId: row.event_id,
    event: row.event_type,
    status: row.status,
    attempts: row.attempts,
    responseCode: row.response_status,
    latencyMs: row.latency_ms,
    error: row.error,
    nextRetryAt: row.status === "pending" && row.attempts > 0 ? isoOrNull(row.next_attempt_at) : null,
    redeliveryOf: row.redelivery_of,
    createdAt: isoOrNull(row.created_at),
    completedAt: isoOrNull(row.completed_at),
    ...(attempts
      ? {
          history: attempts.map((a) => ({
            attempt: a.attempt,
            at: isoOrNull(a.started_at),
            responseCode: a.response_status,
            latencyMs: a.latency_ms,
            error: a.error,
            responseBody: a.response_body,
          })),
        }
      : {}),
  };
}
