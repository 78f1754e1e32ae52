import { z } from "zod";
import { CreateKeySchema } from "./keys";
import { CompleteCallbackSchema, FailCallbackSchema, HttpJobTypeSchema, LogsCallbackSchema, PatchHttpJobTypeSchema, ProgressCallbackSchema, RegisterHttpJobTypeSchema } from "../http-types/model";
import { CreateWebhookSchema, DeliverySchema, ListDeliveriesQuery, PatchWebhookSchema, RotateSecretSchema, WebhookSchema } from "../webhooks/model";
import { SignalRNegotiateQuery, SseQuery, WsQuery } from "./realtime";
import { WbtCreateSchema, WbtJobSchema } from "../compat/wbt-model";
import { ClearedQueueSchema, ClearQueueSchema, QueueDetailsSchema, QueueSettingsPatchSchema, QueueSummarySchema } from "../model/queue";
import { AttemptSchema, BatchRequestSchema, ExecuteRequestSchema, JobLogLineSchema, JobRequestSchema, JobSummarySchema, ListJobsQuery, RetryRequestSchema } from "../model/job";
import { BulkJobsRequestSchema, BulkResultSchema } from "../model/job-bulk";
import { CronJobRequestSchema, ListRecurringJobsQuery, RecurringJobDetailsSchema, RecurringJobPatchSchema, RecurringJobRequestSchema, RecurringJobSchema } from "../model/recurring";
import { GrafanaAnnotationsBody, GrafanaPayloadOptionsBody, GrafanaQueryBody, GrafanaSearchBody, GrafanaTagValuesBody, GrafanaVariableBody } from "../model/grafana";
import { ExportArchiveQuery, ExportHistoryQuery, ExportJobsQuery, JobTypesQuery, PerformanceQuery } from "../model/metrics";
import { ScopeSchema, type Scope } from "../model/scopes";
import { JobDetailsSchema } from "../model/job-details";
import { CodeJobTypeSchema } from "../jobs/registry";
import { ApiKeySchema } from "../db/api-keys";
import { CreateEndpointSchema, EndpointSchema, HistoryQuery, HistorySchema, ListEndpointsQuery, LiveStatusSchema, PatchEndpointSchema, SchedulingQuery, SchedulingSchema } from "../monitoring/endpoint-model";
import { EndpointAnnotationsBody, EndpointGrafanaQueryBody, PayloadOptionsBody, SearchBody, TagValuesBody, VariableBody } from "../monitoring/grafana-model";
import { EndpointHistoryExportQuery } from "./endpoint-export";
import { StatusSseQuery, StatusWsQuery } from "./status-streams";

type Method = "get" | "post" | "patch" | "delete";
type Response = string | { description: string; schema: z.ZodType };

/** What the code cannot say about a route: its summary, scope and the meaning of each status. */
type RouteDoc = {
  method: Method;
  /** Relative to API_BASE_PATH, unless `root` (the seed 003 paths under /api/jobs and /hubs, Prometheus' /metrics, the dashboard). */
  path: string;
  root?: true;
  summary: string;
  /** The scope the route requires; "any" for any valid token; absent when it takes no API key. */
  scope?: Scope | "any";
  /** The schema the handler reads its JSON body with. */
  body?: z.ZodType;
  /** The schema the handler reads its query with. */
  query?: z.ZodObject;
  /** The schema of a JSON response body is the one its mapping function's return type is inferred from. */
  responses: Record<number, Response>;
};

const json = (description: string, schema: z.ZodType): Response => ({ description, schema });
const page = <K extends string>(key: K, item: z.ZodType) => z.object({ [key]: z.array(item), totalCount: z.number().int(), hasMore: z.boolean() });

const ErrorShape = z.object({
  error: z.string().describe("short, stable error code"),
  message: z.string().describe("human-readable sentence"),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
const HealthSchema = z.object({ status: z.enum(["healthy", "unhealthy"]), timestamp: z.iso.datetime(), reason: z.string().optional() });
const CancelledJobSchema = JobSummarySchema.extend({ cancelRequested: z.boolean().describe("true while a running job is being stopped") });
const JobTypeSchema = z.union([CodeJobTypeSchema, HttpJobTypeSchema]);
const Accepted = z.object({ accepted: z.literal(true) });
const WbtLogLine = JobLogLineSchema.omit({ attempt: true });

/**
 * Response shapes the document names in components.schemas, so generated clients get named types. Their ids go in
 * zod's global registry, beside their descriptions, which z.toJSONSchema reads from there (and from no other registry).
 */
for (const [id, schema] of Object.entries({
  Error: ErrorShape,
  JobSummary: JobSummarySchema,
  JobDetails: JobDetailsSchema,
  JobLogLine: JobLogLineSchema,
  Attempt: AttemptSchema,
  CancelledJob: CancelledJobSchema,
  RecurringJob: RecurringJobSchema,
  RecurringJobDetails: RecurringJobDetailsSchema,
  QueueSummary: QueueSummarySchema,
  QueueDetails: QueueDetailsSchema,
  ClearedQueue: ClearedQueueSchema,
  CodeJobType: CodeJobTypeSchema,
  HttpJobType: HttpJobTypeSchema,
  Webhook: WebhookSchema,
  Delivery: DeliverySchema,
  Health: HealthSchema,
  ApiKey: ApiKeySchema,
  BulkResult: BulkResultSchema,
  WbtJob: WbtJobSchema,
  Endpoint: EndpointSchema,
  EndpointLiveStatus: LiveStatusSchema,
  EndpointHistory: HistorySchema,
})) if (!z.globalRegistry.get(schema)?.id) z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });

/** Described routes; the document lists the routes the app registers and takes each one's description from here. */
const ROUTES: RouteDoc[] = [
  { method: "get", path: "/openapi.json", summary: "This document, generated from the registered routes and their zod schemas (no auth)", responses: { 200: "the OpenAPI 3.1 document" } },
  { method: "get", path: "/docs", summary: "This document as a readable HTML reference (no auth)", responses: { 200: "text/html" } },
  { method: "get", path: "/", root: true, summary: "Redirects to the dashboard (no auth)", responses: { 302: "to /dashboard/" } },
  { method: "get", path: "/dashboard/settings.json", root: true, summary: "Where the dashboard finds the API (no auth)", responses: { 200: json("{ apiBasePath }", z.object({ apiBasePath: z.string() })) } },
  { method: "get", path: "/health", summary: "Liveness and D1 reachability (no auth)", responses: { 200: json("healthy", HealthSchema), 503: "D1 unreachable" } },
  { method: "post", path: "/jobs", summary: "Schedule a job (Idempotency-Key header honoured for 24 h); with a non-null cronExpression, create a recurring job as POST /jobs/recurring does", scope: "tickerq:write", body: z.union([JobRequestSchema, CronJobRequestSchema]), responses: { 201: json("the job, or the recurring job", z.union([JobSummarySchema, RecurringJobDetailsSchema])), 400: "invalid", 409: "idempotency key reused with another body, or a usage limit reached (queue_limit, recurring_job_limit)" } },
  { method: "post", path: "/jobs/batch", summary: "Schedule up to 1,000 jobs, all or nothing", scope: "tickerq:write", body: BatchRequestSchema, responses: { 201: json("the jobs in request order", z.object({ jobs: z.array(JobSummarySchema), count: z.number().int() })), 400: "invalid item", 409: "a new queue past the usage limit (queue_limit)" } },
  { method: "get", path: "/me", summary: "The token's key id, name and scopes (any valid token)", scope: "any", responses: { 200: json("{ id, name, scopes }", z.object({ id: z.string(), name: z.string(), scopes: z.array(ScopeSchema) })), 401: "no valid token" } },
  { method: "post", path: "/jobs/bulk", summary: "Retry or cancel the given jobs (ids) or every job matching the list filters (filter), at most 100 per call; dryRun counts them", scope: "tickerq:write", body: BulkJobsRequestSchema, responses: { 200: json("{ action, dryRun, matched, succeeded, skipped, hasMore }", BulkResultSchema), 400: "invalid" } },
  { method: "get", path: "/jobs", summary: "List jobs", scope: "tickerq:read", query: ListJobsQuery, responses: { 200: json("{ jobs, totalCount, hasMore }", page("jobs", JobSummarySchema)) } },
  { method: "post", path: "/jobs/recurring", summary: "Create a recurring (cron) job: 5 or 6 fields or a macro, in an IANA time zone", scope: "tickerq:write", body: RecurringJobRequestSchema, responses: { 201: json("the recurring job with nextRuns", RecurringJobDetailsSchema), 400: "invalid cron expression, time zone, type or parameters, or a cron firing closer than the minimum interval", 409: "a usage limit reached (recurring_job_limit, queue_limit)" } },
  { method: "get", path: "/jobs/recurring", summary: "List recurring jobs", scope: "tickerq:read", query: ListRecurringJobsQuery, responses: { 200: json("{ recurringJobs, totalCount, hasMore }", page("recurringJobs", RecurringJobSchema)) } },
  { method: "get", path: "/jobs/recurring/{id}", summary: "A recurring job with lastRun and nextRuns (next 5, UTC and local)", scope: "tickerq:read", responses: { 200: json("the recurring job", RecurringJobDetailsSchema), 404: "unknown recurring job" } },
  { method: "patch", path: "/jobs/recurring/{id}", summary: "Change cron, time zone, parameters, enabled, policies; a new cron or time zone schedules from now", scope: "tickerq:write", body: RecurringJobPatchSchema, responses: { 200: json("the recurring job", RecurringJobSchema), 400: "invalid", 404: "unknown recurring job" } },
  { method: "delete", path: "/jobs/recurring/{id}", summary: "Delete a recurring job (its past runs stay)", scope: "tickerq:write", responses: { 204: "deleted", 404: "unknown recurring job" } },
  { method: "post", path: "/jobs/recurring/{id}/trigger", summary: "One run now, outside the schedule", scope: "tickerq:write", responses: { 201: json("the new job", JobSummarySchema), 404: "unknown recurring job" } },
  { method: "post", path: "/jobs/recurring/{id}/enable", summary: "Enable: schedules from now, missed slots are not caught up", scope: "tickerq:write", responses: { 200: json("the recurring job", RecurringJobSchema), 404: "unknown recurring job" } },
  { method: "post", path: "/jobs/recurring/{id}/disable", summary: "Disable: no runs until enabled again", scope: "tickerq:write", responses: { 200: json("the recurring job", RecurringJobSchema), 404: "unknown recurring job" } },
  { method: "get", path: "/jobs/{id}", summary: "A job with parameters, result, error and executionHistory", scope: "tickerq:read", responses: { 200: json("the job", JobDetailsSchema), 404: "unknown job" } },
  { method: "get", path: "/jobs/{id}/logs", summary: "Log lines written by the job's handler", scope: "tickerq:read", responses: { 200: json("{ jobId, logs }", z.object({ jobId: z.string(), logs: z.array(JobLogLineSchema) })), 404: "unknown job" } },
  { method: "post", path: "/jobs/{id}/execute", summary: "Run an existing job again, now or after a delay", scope: "tickerq:write", body: ExecuteRequestSchema, responses: { 202: json("re-queued", JobSummarySchema), 409: "running" } },
  { method: "post", path: "/jobs/{id}/cancel", summary: "Cancel: pending at once (200), running via its AbortSignal (202)", scope: "tickerq:write", responses: { 200: json("cancelled", CancelledJobSchema), 202: json("cancel requested", CancelledJobSchema), 409: "already finished" } },
  { method: "post", path: "/jobs/{id}/retry", summary: "Put a failed or cancelled job back to pending", scope: "tickerq:write", body: RetryRequestSchema, responses: { 202: json("re-queued", JobSummarySchema), 409: "not failed or cancelled" } },
  { method: "get", path: "/job-types", summary: "Every job type a job may use: code types (kind built-in, ...) and registered HTTP types (kind http), each with its JSON Schema of parameters", scope: "tickerq:read", responses: { 200: json("{ jobTypes: [{ name, kind, description, parameters, timeoutSeconds }] }", z.object({ jobTypes: z.array(JobTypeSchema) })) } },
  { method: "get", path: "/job-types/{name}", summary: "One job type", scope: "tickerq:read", responses: { 200: json("the job type", JobTypeSchema), 404: "unknown job type" } },
  { method: "post", path: "/job-types", summary: "Register a job type served by your HTTP service (signing secret shown once)", scope: "tickerq:admin", body: RegisterHttpJobTypeSchema, responses: { 201: json("the job type with its secret", HttpJobTypeSchema.extend({ secret: z.string() })), 400: "invalid (bad JSON Schema, refused URL)", 409: "name taken or built-in" } },
  { method: "patch", path: "/job-types/{name}", summary: "Change a registered HTTP job type; jobs already created keep the definition they were created with", scope: "tickerq:admin", body: PatchHttpJobTypeSchema, responses: { 200: json("the job type", HttpJobTypeSchema), 400: "invalid", 404: "unknown job type" } },
  { method: "delete", path: "/job-types/{name}", summary: "Remove a registered HTTP job type", scope: "tickerq:admin", responses: { 204: "deleted", 404: "unknown job type", 409: "it has pending or running jobs, or a recurring job uses it" } },
  { method: "post", path: "/jobs/{id}/attempts/{n}/complete", summary: "Service callback (Authorization: Bearer <the attempt's callback token>, no API key): the attempt completed with { result }", body: CompleteCallbackSchema, responses: { 200: json("accepted", Accepted), 401: "wrong token", 409: "cancelled, or the attempt already ended" } },
  { method: "post", path: "/jobs/{id}/attempts/{n}/fail", summary: "Service callback (callback token): the attempt failed with { error, retry }", body: FailCallbackSchema, responses: { 200: json("accepted", Accepted), 401: "wrong token", 409: "cancelled, or the attempt already ended" } },
  { method: "post", path: "/jobs/{id}/attempts/{n}/progress", summary: "Service callback (callback token): { percent, message }", body: ProgressCallbackSchema, responses: { 200: json("accepted", Accepted), 401: "wrong token", 409: "cancelled, or the attempt already ended" } },
  { method: "post", path: "/jobs/{id}/attempts/{n}/logs", summary: "Service callback (callback token): { lines: [{ level, message, details, stepName }] }", body: LogsCallbackSchema, responses: { 200: json("accepted", Accepted), 401: "wrong token", 409: "cancelled, or the attempt already ended" } },
  { method: "get", path: "/queues", summary: "Every queue: status, job counts, workers, throughput", scope: "tickerq:read", responses: { 200: json("{ queues: [{ name, status, pendingJobs, runningJobs, completedJobs, failedJobs, workers, throughput }] }", z.object({ queues: z.array(QueueSummarySchema) })) } },
  { method: "get", path: "/queues/{name}", summary: "One queue with its settings (workers, rateLimit, defaults)", scope: "tickerq:read", responses: { 200: json("the queue", QueueDetailsSchema), 404: "unknown queue" } },
  { method: "patch", path: "/queues/{name}", summary: "Set workers, rate limit and job defaults; creates the queue if it is new", scope: "tickerq:queue-admin", body: QueueSettingsPatchSchema, responses: { 200: json("the queue", QueueDetailsSchema), 400: "invalid setting", 409: "a usage limit reached (queue_limit, worker_limit)" } },
  { method: "post", path: "/queues/{name}/pause", summary: "Start nothing new in this queue (running jobs finish); emits queue.paused", scope: "tickerq:queue-admin", responses: { 200: json("the queue", QueueDetailsSchema), 400: "unknown queue (error unknown_queue)" } },
  { method: "post", path: "/queues/{name}/resume", summary: "Start the backlog again, in priority order; emits queue.resumed", scope: "tickerq:queue-admin", responses: { 200: json("the queue", QueueDetailsSchema), 400: "unknown queue (error unknown_queue)" } },
  { method: "post", path: "/queues/{name}/clear", summary: "Delete the queue's pending and/or failed jobs; emits queue.cleared", scope: "tickerq:queue-admin", body: ClearQueueSchema, responses: { 200: json("{ queue, clearedPending, clearedFailed, hasMore }", ClearedQueueSchema), 400: "unknown queue or nothing selected" } },
  { method: "get", path: "/ws", summary: "WebSocket live updates: { action: subscribe|unsubscribe, topics, filters, since } messages; frames { type, data, timestamp, seq }", scope: "tickerq:read", query: WsQuery, responses: { 101: "switching protocols", 400: "invalid query, or subscriptions over 1,536 bytes (subscription_too_large)", 426: "not a WebSocket upgrade", 429: "this key's 20 connections are open (too_many_connections)" } },
  { method: "get", path: "/events", summary: "Server-sent events: the same messages with id: <seq>, Last-Event-ID resume and heartbeat comments", scope: "tickerq:read", query: SseQuery, responses: { 200: "text/event-stream", 400: "invalid query or Last-Event-ID, or subscriptions over 1,536 bytes", 429: "this key's 20 connections are open (too_many_connections)" } },
  { method: "post", path: "/realtime/tickets", summary: "A single-use ticket (60 s) for the caller's key, to pass as access_token to /ws, /events or a SignalR hub instead of the key", scope: "tickerq:read", responses: { 201: json("{ ticket, expiresAt, expiresIn }", z.object({ ticket: z.string(), expiresAt: z.iso.datetime(), expiresIn: z.number().describe("seconds") })) } },
  { method: "post", path: "/hub/negotiate", summary: "SignalR negotiate for the TickerQ hub (WebSockets, JSON protocol)", scope: "tickerq:read", query: SignalRNegotiateQuery, responses: { 200: "{ negotiateVersion, connectionId, connectionToken, availableTransports }" } },
  { method: "get", path: "/hub", summary: "SignalR TickerQ hub (WebSocket): JoinGroup/LeaveGroup; JobStatusChanged, MetricsUpdated, SystemHealthAlert", scope: "tickerq:read", responses: { 101: "switching protocols", 426: "not a WebSocket upgrade" } },
  { method: "post", path: "/keys", summary: "Create an API key (shown once)", scope: "tickerq:admin", body: CreateKeySchema, responses: { 201: json("the key, with the key itself (shown only here)", ApiKeySchema.extend({ key: z.string() })) } },
  { method: "get", path: "/keys", summary: "List API keys (never the keys themselves)", scope: "tickerq:admin", responses: { 200: json("{ keys }", z.object({ keys: z.array(ApiKeySchema) })) } },
  { method: "delete", path: "/keys/{id}", summary: "Revoke an API key at once", scope: "tickerq:admin", responses: { 204: "revoked", 404: "unknown key" } },
  { method: "get", path: "/metrics/system", summary: "System overview: health verdict with its reasons, total jobs, running jobs, queue length", scope: "tickerq:read", responses: { 200: "{ timestamp, systemHealth, totalJobs, activeWorkers, queueLength, reasons, checks, ... }" } },
  { method: "get", path: "/metrics/performance", summary: "Jobs, success rate, average duration and throughput over a period, with daily or hourly trends", scope: "tickerq:read", query: PerformanceQuery, responses: { 200: "{ period, summary, trends }", 400: "bad period" } },
  { method: "get", path: "/metrics/job-types", summary: "Per job type: executions, success rate, average duration, failure reasons", scope: "tickerq:read", query: JobTypesQuery, responses: { 200: "{ jobTypes }", 400: "bad period" } },
  { method: "get", path: "/metrics", root: true, summary: "Prometheus text exposition (served at the root, not under the base path)", scope: "tickerq:read", responses: { 200: "text/plain; version=0.0.4" } },
  { method: "get", path: "/export/jobs", summary: "Stream jobs matching the list filters as CSV, JSON or NDJSON", scope: "tickerq:read", query: ExportJobsQuery, responses: { 200: "the export (streamed)", 400: "invalid filter" } },
  { method: "get", path: "/export/archive", summary: "Stream one queue's jobs of one UTC day that retention moved to R2 (ARCHIVE_BUCKET)", scope: "tickerq:read", query: ExportArchiveQuery, responses: { 200: "the export (streamed)", 400: "bad queue, day or format", 503: "no ARCHIVE_BUCKET binding" } },
  { method: "get", path: "/export/history", summary: "Stream hourly or daily rollups per queue and type as CSV, JSON or NDJSON", scope: "tickerq:read", query: ExportHistoryQuery, responses: { 200: "the export (streamed)", 400: "bad period" } },
  { method: "get", path: "/grafana", summary: "Grafana JSON datasource: connection test", scope: "tickerq:read", responses: { 200: "ok" } },
  { method: "post", path: "/grafana/search", summary: "Grafana: metric names (or queue/type names for \"queues\"/\"types\")", scope: "tickerq:read", body: GrafanaSearchBody, responses: { 200: "names" } },
  { method: "post", path: "/grafana/metrics", summary: "Grafana: metrics with their payload options (newer plugin versions)", scope: "tickerq:read", responses: { 200: "[{ label, value, payloads }]" } },
  { method: "post", path: "/grafana/metric-payload-options", summary: "Grafana: options of a payload field", scope: "tickerq:read", body: GrafanaPayloadOptionsBody, responses: { 200: "[{ label, value }]" } },
  { method: "post", path: "/grafana/variable", summary: "Grafana: values of a query variable (queues, types)", scope: "tickerq:read", body: GrafanaVariableBody, responses: { 200: "[{ __text, __value }]" } },
  { method: "post", path: "/grafana/query", summary: "Grafana: time series or tables per target", scope: "tickerq:read", body: GrafanaQueryBody, responses: { 200: "series and tables", 400: "invalid target" } },
  { method: "post", path: "/grafana/annotations", summary: "Grafana: failed jobs and queue pauses in a range", scope: "tickerq:read", body: GrafanaAnnotationsBody, responses: { 200: "annotations" } },
  { method: "post", path: "/grafana/tag-keys", summary: "Grafana: ad hoc filter keys (queue, type)", scope: "tickerq:read", responses: { 200: "[{ type, text }]" } },
  { method: "post", path: "/grafana/tag-values", summary: "Grafana: values of an ad hoc filter key", scope: "tickerq:read", body: GrafanaTagValuesBody, responses: { 200: "[{ text }]", 400: "unknown key" } },
  { method: "post", path: "/webhooks", summary: "Create a webhook endpoint (secret generated when omitted, shown once)", scope: "tickerq:admin", body: CreateWebhookSchema, responses: { 201: json("the endpoint with its secret", WebhookSchema.extend({ secret: z.string() })), 400: "invalid, or URL refused by the SSRF guard" } },
  { method: "get", path: "/webhooks", summary: "List webhook endpoints with their health (never secrets)", scope: "tickerq:admin", responses: { 200: json("{ webhooks }", z.object({ webhooks: z.array(WebhookSchema) })) } },
  { method: "get", path: "/webhooks/{id}", summary: "A webhook endpoint with its health", scope: "tickerq:admin", responses: { 200: json("the endpoint", WebhookSchema), 404: "unknown webhook" } },
  { method: "patch", path: "/webhooks/{id}", summary: "Change an endpoint; enabled: true re-enables it and clears its failure streak", scope: "tickerq:admin", body: PatchWebhookSchema, responses: { 200: json("the endpoint", WebhookSchema), 400: "invalid", 404: "unknown webhook" } },
  { method: "delete", path: "/webhooks/{id}", summary: "Delete an endpoint and its delivery log", scope: "tickerq:admin", responses: { 204: "deleted", 404: "unknown webhook" } },
  { method: "post", path: "/webhooks/{id}/rotate-secret", summary: "New signing secret (shown once); the old one also signs during the overlap", scope: "tickerq:admin", body: RotateSecretSchema, responses: { 200: json("{ id, secret, previousSecretExpiresAt }", z.object({ id: z.string(), secret: z.string(), previousSecretExpiresAt: z.iso.datetime().nullable() })), 404: "unknown webhook" } },
  { method: "post", path: "/webhooks/{id}/test", summary: "Send a signed ping now and log it", scope: "tickerq:admin", responses: { 200: json("{ delivered, delivery }", z.object({ delivered: z.boolean(), delivery: DeliverySchema })), 404: "unknown webhook" } },
  { method: "get", path: "/webhooks/{id}/deliveries", summary: "The delivery log: event, status, attempts, response code, latency, error, next retry, attempt history", scope: "tickerq:admin", query: ListDeliveriesQuery, responses: { 200: json("{ deliveries, totalCount, hasMore }", page("deliveries", DeliverySchema)), 404: "unknown webhook" } },
  { method: "post", path: "/webhooks/re-encrypt", summary: "One-off after a key change: seal again with WEBHOOK_SECRET_KEY every webhook secret and job credential still sealed with LEGACY_WEBHOOK_SECRET_KEY", scope: "tickerq:admin", responses: { 200: "{ webhooks, recurringJobs, jobs, unreadable }", 503: "WEBHOOK_SECRET_KEY is not set" } },
  { method: "get", path: "/webhooks/deliveries/{deliveryId}", summary: "One delivery with its payload and attempt history", scope: "tickerq:admin", responses: { 200: json("the delivery", DeliverySchema.extend({ payload: z.unknown() })), 404: "unknown delivery" } },
  { method: "post", path: "/webhooks/deliveries/{deliveryId}/redeliver", summary: "Send a finished delivery's event again (same webhook-id)", scope: "tickerq:admin", responses: { 202: json("the new delivery", DeliverySchema), 404: "unknown delivery", 409: "still pending, or the endpoint is disabled" } },
  { method: "get", path: "/api/ws/status", root: true, summary: "Seed 002: live endpoint status (WebSocket); sends { type: \"status_update\", timestamp, data: { endpointId, status, responseTime, previousStatus } } per status change, no subscribe message needed", scope: "tickerq:read", query: StatusWsQuery, responses: { 101: "switching protocols", 426: "not a WebSocket upgrade" } },
  { method: "get", path: "/api/events/status", root: true, summary: "Seed 002: live endpoint status as Server-Sent Events (data: the status_update message)", scope: "tickerq:read", query: StatusSseQuery, responses: { 200: "text/event-stream", 400: "bad query" } },
  { method: "get", path: "/api/grafana", root: true, summary: "Seed 002 Grafana JSON datasource over endpoint checks: connection test", scope: "tickerq:read", responses: { 200: "ok" } },
  { method: "post", path: "/api/grafana/search", root: true, summary: "Endpoint Grafana: metric names (availability, response_time, status_count), or endpoints for \"endpoints\"", scope: "tickerq:read", body: SearchBody, responses: { 200: "names" } },
  { method: "post", path: "/api/grafana/metrics", root: true, summary: "Endpoint Grafana: metrics with their payload options (endpointId, aggregation, interval, status)", scope: "tickerq:read", responses: { 200: "[{ label, value, payloads }]" } },
  { method: "post", path: "/api/grafana/metric-payload-options", root: true, summary: "Endpoint Grafana: options of a payload field", scope: "tickerq:read", body: PayloadOptionsBody, responses: { 200: "[{ label, value }]" } },
  { method: "post", path: "/api/grafana/variable", root: true, summary: "Endpoint Grafana: endpoints as variable values", scope: "tickerq:read", body: VariableBody, responses: { 200: "[{ __text, __value }]" } },
  { method: "post", path: "/api/grafana/query", root: true, summary: "Endpoint Grafana: availability (%), response_time (ms; aggregation avg/min/max/p95, interval) or status_count per target, each filterable by endpointId; a bare seed 002 target is accepted too (last 6 hours)", scope: "tickerq:read", body: EndpointGrafanaQueryBody, responses: { 200: "series", 400: "invalid target" } },
  { method: "post", path: "/api/grafana/annotations", root: true, summary: "Endpoint Grafana: status changes in a range (query text \"endpointId=ID\" narrows)", scope: "tickerq:read", body: EndpointAnnotationsBody, responses: { 200: "annotations" } },
  { method: "post", path: "/api/grafana/tag-keys", root: true, summary: "Endpoint Grafana: ad hoc filter keys (endpointId)", scope: "tickerq:read", responses: { 200: "[{ type, text }]" } },
  { method: "post", path: "/api/grafana/tag-values", root: true, summary: "Endpoint Grafana: endpoint ids", scope: "tickerq:read", body: TagValuesBody, responses: { 200: "[{ text }]", 400: "unknown key" } },
  { method: "get", path: "/api/metrics", root: true, summary: "Seed 002 Prometheus exposition: the job metrics plus pulse_endpoint_status, pulse_endpoint_response_time, pulse_checks_total, pulse_system_uptime", scope: "tickerq:read", responses: { 200: "text/plain; version=0.0.4" } },
  { method: "get", path: "/api/export/history", root: true, summary: "Seed 002: stream endpoint check history (raw checks, hourly or daily) as CSV, JSON or NDJSON", scope: "tickerq:read", query: EndpointHistoryExportQuery, responses: { 200: "the export (streamed)", 400: "bad parameter or period" } },
  { method: "post", path: "/api/jobs", root: true, summary: "WbtWebJob: create a job (jobType 1 BuiltIn, 2 Custom, 3 Http)", scope: "tickerq:write", body: WbtCreateSchema, responses: { 201: json("the job in WbtWebJob's shape", WbtJobSchema), 400: "invalid" } },
  { method: "get", path: "/api/jobs/{jobId}", root: true, summary: "WbtWebJob: a job (numeric status)", scope: "tickerq:read", responses: { 200: json("the job", WbtJobSchema), 404: "unknown job" } },
  { method: "get", path: "/api/jobs/business/{businessId}", root: true, summary: "WbtWebJob: the latest job with this business id", scope: "tickerq:read", responses: { 200: json("the job", WbtJobSchema), 404: "none" } },
  { method: "get", path: "/api/jobs/{jobId}/logs", root: true, summary: "WbtWebJob: the job's log lines (array)", scope: "tickerq:read", responses: { 200: json("log lines", z.array(WbtLogLine)), 404: "unknown job" } },
  { method: "post", path: "/api/jobs/{jobId}/cancel", root: true, summary: "WbtWebJob: cancel → { message, jobId }", scope: "tickerq:write", responses: { 200: json("cancelled or cancel requested", z.object({ message: z.string(), jobId: z.string() })), 404: "unknown job" } },
  { method: "post", path: "/api/endpoints", root: true, summary: "Monitoring (seed 002): add an http or tcp endpoint; checked at once, then every intervalSeconds", scope: "tickerq:write", body: CreateEndpointSchema, responses: { 201: json("the endpoint (status unknown until its first check)", EndpointSchema), 400: "invalid (a URL as address, a tcp endpoint without a port, an interval below the minimum, a private target, ...)", 409: "MAX_ENDPOINTS reached (keys without the admin scope)" } },
  { method: "get", path: "/api/endpoints", root: true, summary: "Monitoring: endpoints, filtered by group and status", scope: "tickerq:read", query: ListEndpointsQuery, responses: { 200: json("a page of endpoints", page("endpoints", EndpointSchema)) } },
  { method: "get", path: "/api/endpoints/scheduling", root: true, summary: "Monitoring: how late checks start (start minus due, p50/p99/max) per monitor shard", scope: "tickerq:read", query: SchedulingQuery, responses: { 200: json("per shard", SchedulingSchema) } },
  { method: "get", path: "/api/endpoints/{id}", root: true, summary: "Monitoring: one endpoint with its live status", scope: "tickerq:read", responses: { 200: json("the endpoint", EndpointSchema), 404: "unknown endpoint" } },
  { method: "patch", path: "/api/endpoints/{id}", root: true, summary: "Monitoring: change an endpoint; its monitor applies it at once (re-enabling starts it over as unknown)", scope: "tickerq:write", body: PatchEndpointSchema, responses: { 200: json("the endpoint", EndpointSchema), 400: "invalid", 404: "unknown endpoint" } },
  { method: "delete", path: "/api/endpoints/{id}", root: true, summary: "Monitoring: delete an endpoint and its status changes", scope: "tickerq:write", responses: { 204: "deleted", 404: "unknown endpoint" } },
  { method: "get", path: "/api/endpoints/{id}/history", root: true, summary: "Monitoring: an endpoint's checks and status changes in a window (start_time/end_time, or the last `hours`; 24 h by default)", scope: "tickerq:read", query: HistoryQuery, responses: { 200: json("checks and status changes, oldest first", HistorySchema), 400: "invalid window", 404: "unknown endpoint" } },
  { method: "get", path: "/api/status", root: true, summary: "Monitoring: the live status of every endpoint (seed 002 SDK getLiveStatus)", scope: "tickerq:read", responses: { 200: json("one entry per endpoint", z.array(LiveStatusSchema)) } },
  { method: "post", path: "/hubs/job-progress/negotiate", root: true, summary: "WbtWebJob: SignalR negotiate for the job-progress hub", scope: "tickerq:read", query: SignalRNegotiateQuery, responses: { 200: "{ negotiateVersion, connectionId, connectionToken, availableTransports }" } },
  { method: "get", path: "/hubs/job-progress", root: true, summary: "WbtWebJob: SignalR job-progress hub (WebSocket): SubscribeToJob/UnsubscribeFromJob; JobProgress, JobCompleted, JobFailed", scope: "tickerq:read", responses: { 101: "switching protocols", 426: "not a WebSocket upgrade" } },
];


/** A route as Hono registers it (`app.routes`). */
export type RegisteredRoute = { method: string; path: string };

/** The summary of a registered route this table does not describe (an `extraRoutes` route of the deployment). */
export const UNDESCRIBED = "Added by this deployment (not described)";

const fullPath = (basePath: string, r: RouteDoc) => (r.root ? r.path : `${basePath}${r.path}`.replace(/(.)\/$/, "$1"));
const ERROR_CONTENT = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
const schemaOf = (schema: z.ZodType, io: "input" | "output") => z.toJSONSchema(schema, { io, unrepresentable: "any" });
type JsonSchema = Record<string, unknown>;

/** A response schema whose named parts become references to components.schemas (which it fills in). */
function responseSchemaOf(schema: z.ZodType, components: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _, $defs, ...rest } = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as JsonSchema;
  const toComponents = (s: unknown) => JSON.parse(JSON.stringify(s).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) components[id] ??= toComponents(def);
  return toComponents(rest);
}

/** Hono's `/jobs/:id` as OpenAPI's `/jobs/{id}` (a `:name{regex}` parameter keeps only its name). */
export const openApiPath = (honoPath: string) => honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

/** One route per method and path: middleware (`ALL`) and handlers registered with it are not routes of their own. */
export function registeredRoutes(routes: readonly RegisteredRoute[]): { method: Method; path: string }[] {
  const seen = new Map<string, { method: Method; path: string }>();
  for (const r of routes) {
    const method = r.method.toLowerCase();
    if (method === "all" || r.path.endsWith("*")) continue;
    const path = openApiPath(r.path);
    seen.set(`${method} ${path}`, { method: method as Method, path });
  }
  return [...seen.values()];
}

/** Keys ("get /api/tickerq/jobs/{id}") of the described routes, under this base path. */
export function describedRoutes(basePath: string): string[] {
  return ROUTES.map((r) => `${r.method} ${fullPath(basePath, r)}`);
}

/** A stable name for generated clients: the method and the path's words, parameters as "By<Name>". */
function operationId(method: Method, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .flatMap((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      return param ? ["by", param[1]] : segment.split(/[^A-Za-z0-9]+/);
    })
    .filter(Boolean);
  return method + (words.length ? words : ["root"]).map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/** Groups for the docs page and generated clients: mostly the path's first segment. */
const TAG_OF_SEGMENT: Record<string, string> = { health: "system", "openapi.json": "system", docs: "system", me: "keys", hub: "realtime", ws: "realtime", events: "realtime", hubs: "wbtwebjob", api: "wbtwebjob", "": "dashboard" };
const MONITORING_PATH = /^\/api\/(ws\/status|events\/status|grafana|metrics|export)(\/|$)/;
const tagOf = (relativePath: string) => {
  if (MONITORING_PATH.test(relativePath)) return "monitoring";
  const segment = relativePath.split("/").filter(Boolean)[0] ?? "";
  return TAG_OF_SEGMENT[segment] ?? segment;
};

function operation(method: Method, path: string, doc: RouteDoc | undefined, basePath: string, components: Record<string, JsonSchema>) {
  const parameters = [
    ...[...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } })),
    ...(doc?.query
      ? Object.entries(schemaOf(doc.query, "input").properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema }))
      : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(doc?.responses ?? { 200: "the result" })) {
    const { description, schema } = typeof response === "string" ? { description: response, schema: undefined } : response;
    if (Number(status) >= 400) responses[status] = { description, content: ERROR_CONTENT };
    else responses[status] = schema ? { description, content: { "application/json": { schema: responseSchemaOf(schema, components) } } } : { description };
  }
  const authenticated = doc ? doc.scope !== undefined : true;
  if (authenticated) {
    responses["401"] ??= { description: "missing or unknown token", content: ERROR_CONTENT };
    if (doc?.scope && doc.scope !== "any") responses["403"] ??= { description: `the token lacks the ${doc.scope} scope`, content: ERROR_CONTENT };
  }
  const relative = doc?.root || !path.startsWith(basePath) ? path : path.slice(basePath.length) || "/";
  return {
    operationId: operationId(method, doc?.root ? path : relative),
    summary: doc?.summary ?? UNDESCRIBED,
    tags: [tagOf(relative)],
    security: authenticated ? [{ bearer: doc?.scope && doc.scope !== "any" ? [doc.scope] : [] }] : [],
    parameters,
    ...(doc?.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(doc.body, "input") } } } } : {}),
    responses,
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApi>;

/** The OpenAPI 3.1 document of the routes the app registers, described by the table above. */
export function buildOpenApi(routes: readonly RegisteredRoute[], basePath: string) {
  const docs = new Map(ROUTES.map((r) => [`${r.method} ${fullPath(basePath, r)}`, r]));
  const paths: Record<string, Record<string, ReturnType<typeof operation>>> = {};
  const schemas: Record<string, JsonSchema> = {};
  responseSchemaOf(ErrorShape, schemas);
  for (const { method, path } of registeredRoutes(routes)) {
    (paths[path] ??= {})[method] = operation(method, path, docs.get(`${method} ${path}`), basePath, schemas);
  }
  return {
    openapi: "3.1.0" as const,
    info: { title: "Edge Ticker API", version: "1.0.0", description: "Background jobs on Cloudflare Workers: schedule, run, retry, observe." },
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN or an API key created with POST /keys" } },
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}
