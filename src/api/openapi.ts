import { z } from "zod";
import { CreateKeySchema } from "./keys";
import { SignalRNegotiateQuery, SseQuery, WsQuery } from "./realtime";
import { WbtCreateSchema } from "../compat/wbt-model";
import { ClearQueueSchema, QueueSettingsPatchSchema } from "../model/queue";
import { ExecuteRequestSchema, JobRequestSchema, ListJobsQuery, RetryRequestSchema, BatchRequestSchema } from "../model/job";

type RouteDoc = {
  method: "get" | "post" | "patch" | "delete";
  /** Relative to API_BASE_PATH, unless it starts with `/api/jobs` or `/hubs` (the seed 003 paths). */
  path: string;
  summary: string;
  scope?: "tickerq:read" | "tickerq:write" | "tickerq:admin";
  body?: z.ZodType;
  query?: z.ZodObject;
  responses: Record<number, string>;
};

const ErrorShape = z.object({
  error: z.string().describe("short, stable error code"),
  message: z.string().describe("human-readable sentence"),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** The documented routes, with the same zod schemas the handlers validate with. */
const ROUTES: RouteDoc[] = [
  { method: "get", path: "/health", summary: "Liveness and D1 reachability (no auth)", responses: { 200: "healthy", 503: "D1 unreachable" } },
  { method: "post", path: "/jobs", summary: "Schedule a job (Idempotency-Key header honoured for 24 h)", scope: "tickerq:write", body: JobRequestSchema, responses: { 201: "the job", 400: "invalid", 409: "idempotency key reused with another body" } },
  { method: "post", path: "/jobs/batch", summary: "Schedule up to 1,000 jobs, all or nothing", scope: "tickerq:write", body: BatchRequestSchema, responses: { 201: "the jobs in request order", 400: "invalid item" } },
  { method: "get", path: "/jobs", summary: "List jobs", scope: "tickerq:read", query: ListJobsQuery, responses: { 200: "{ jobs, totalCount, hasMore }" } },
  { method: "get", path: "/jobs/{id}", summary: "A job with parameters, result, error and executionHistory", scope: "tickerq:read", responses: { 200: "the job", 404: "unknown job" } },
  { method: "get", path: "/jobs/{id}/logs", summary: "Log lines written by the job's handler", scope: "tickerq:read", responses: { 200: "{ jobId, logs }", 404: "unknown job" } },
  { method: "post", path: "/jobs/{id}/execute", summary: "Run an existing job again, now or after a delay", scope: "tickerq:write", body: ExecuteRequestSchema, responses: { 202: "re-queued", 409: "running" } },
  { method: "post", path: "/jobs/{id}/cancel", summary: "Cancel: pending at once (200), running via its AbortSignal (202)", scope: "tickerq:write", responses: { 200: "cancelled", 202: "cancel requested", 409: "already finished" } },
  { method: "post", path: "/jobs/{id}/retry", summary: "Put a failed or cancelled job back to pending", scope: "tickerq:write", body: RetryRequestSchema, responses: { 202: "re-queued", 409: "not failed or cancelled" } },
  { method: "get", path: "/queues", summary: "Every queue: status, job counts, workers, throughput", scope: "tickerq:read", responses: { 200: "{ queues: [{ name, status, pendingJobs, runningJobs, completedJobs, failedJobs, workers, throughput }] }" } },
  { method: "get", path: "/queues/{name}", summary: "One queue with its settings (workers, rateLimit, defaults)", scope: "tickerq:read", responses: { 200: "the queue", 404: "unknown queue" } },
  { method: "patch", path: "/queues/{name}", summary: "Set workers, rate limit and job defaults; creates the queue if it is new", scope: "tickerq:write", body: QueueSettingsPatchSchema, responses: { 200: "the queue", 400: "invalid setting" } },
  { method: "post", path: "/queues/{name}/pause", summary: "Start nothing new in this queue (running jobs finish); emits queue.paused", scope: "tickerq:write", responses: { 200: "the queue", 400: "unknown queue (error unknown_queue)" } },
  { method: "post", path: "/queues/{name}/resume", summary: "Start the backlog again, in priority order; emits queue.resumed", scope: "tickerq:write", responses: { 200: "the queue", 400: "unknown queue (error unknown_queue)" } },
  { method: "post", path: "/queues/{name}/clear", summary: "Delete the queue's pending and/or failed jobs; emits queue.cleared", scope: "tickerq:write", body: ClearQueueSchema, responses: { 200: "{ queue, clearedPending, clearedFailed, hasMore }", 400: "unknown queue or nothing selected" } },
  { method: "get", path: "/ws", summary: "WebSocket live updates: { action: subscribe|unsubscribe, topics, filters, since } messages; frames { type, data, timestamp, seq }", scope: "tickerq:read", query: WsQuery, responses: { 101: "switching protocols", 400: "invalid query", 426: "not a WebSocket upgrade" } },
  { method: "get", path: "/events", summary: "Server-sent events: the same messages with id: <seq>, Last-Event-ID resume and heartbeat comments", scope: "tickerq:read", query: SseQuery, responses: { 200: "text/event-stream", 400: "invalid query or Last-Event-ID" } },
  { method: "post", path: "/hub/negotiate", summary: "SignalR negotiate for the TickerQ hub (WebSockets, JSON protocol)", scope: "tickerq:read", query: SignalRNegotiateQuery, responses: { 200: "{ negotiateVersion, connectionId, connectionToken, availableTransports }" } },
  { method: "get", path: "/hub", summary: "SignalR TickerQ hub (WebSocket): JoinGroup/LeaveGroup; JobStatusChanged, MetricsUpdated, SystemHealthAlert", scope: "tickerq:read", responses: { 101: "switching protocols", 426: "not a WebSocket upgrade" } },
  { method: "post", path: "/keys", summary: "Create an API key (shown once)", scope: "tickerq:admin", body: CreateKeySchema, responses: { 201: "the key" } },
  { method: "get", path: "/keys", summary: "List API keys (never the keys themselves)", scope: "tickerq:admin", responses: { 200: "{ keys }" } },
  { method: "delete", path: "/keys/{id}", summary: "Revoke an API key at once", scope: "tickerq:admin", responses: { 204: "revoked", 404: "unknown key" } },
  { method: "post", path: "/api/jobs", summary: "WbtWebJob: create a job (jobType 1 BuiltIn, 2 Custom, 3 Http)", scope: "tickerq:write", body: WbtCreateSchema, responses: { 201: "the job in WbtWebJob's shape", 400: "invalid" } },
  { method: "get", path: "/api/jobs/{jobId}", summary: "WbtWebJob: a job (numeric status)", scope: "tickerq:read", responses: { 200: "the job", 404: "unknown job" } },
  { method: "get", path: "/api/jobs/business/{businessId}", summary: "WbtWebJob: the latest job with this business id", scope: "tickerq:read", responses: { 200: "the job", 404: "none" } },
  { method: "get", path: "/api/jobs/{jobId}/logs", summary: "WbtWebJob: the job's log lines (array)", scope: "tickerq:read", responses: { 200: "log lines", 404: "unknown job" } },
  { method: "post", path: "/api/jobs/{jobId}/cancel", summary: "WbtWebJob: cancel → { message, jobId }", scope: "tickerq:write", responses: { 200: "cancelled or cancel requested", 404: "unknown job" } },
  { method: "post", path: "/hubs/job-progress/negotiate", summary: "WbtWebJob: SignalR negotiate for the job-progress hub", scope: "tickerq:read", query: SignalRNegotiateQuery, responses: { 200: "{ negotiateVersion, connectionId, connectionToken, availableTransports }" } },
  { method: "get", path: "/hubs/job-progress", summary: "WbtWebJob: SignalR job-progress hub (WebSocket): SubscribeToJob/UnsubscribeFromJob; JobProgress, JobCompleted, JobFailed", scope: "tickerq:read", responses: { 101: "switching protocols", 426: "not a WebSocket upgrade" } },
];

const isRootPath = (path: string) => path.startsWith("/api/jobs") || path.startsWith("/hubs");

export function buildOpenApi(basePath: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query
      ? Object.entries(z.toJSONSchema(r.query, { io: "input", unrepresentable: "any" }).properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema }))
      : [];
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(r.responses)) {
      responses[status] = Number(status) >= 400 ? { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } : { description };
    }
    responses["401"] ??= r.scope ? { description: "missing or unknown token", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } : undefined;
    if (!r.scope) delete responses["401"];
    (paths[isRootPath(r.path) ? r.path : `${basePath}${r.path}`] ??= {})[r.method] = {
      summary: r.summary,
      ...(r.scope ? { security: [{ bearer: [r.scope] }] } : { security: [] }),
      parameters: [...params, ...query],
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Edge Ticker API", version: "1.0.0", description: "Background jobs on Cloudflare Workers: schedule, run, retry, observe." },
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN or an API key created with POST /keys" } },
      schemas: { Error: z.toJSONSchema(ErrorShape) },
    },
  };
}
