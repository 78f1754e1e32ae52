// Request and response types of the client, all derived from the server's own code (type-only imports:
// nothing of the server is in the built client).
import type { Hono } from "hono";
import type { z } from "zod";
import type { jobsApi } from "../api/jobs.js";
import type { jobsBulkApi } from "../api/jobs-bulk.js";
import type { jobTypesApi } from "../api/job-types.js";
import type { CreateKeySchema, keysApi } from "../api/keys.js";
import type { meApi } from "../api/me.js";
import type { metricsApi } from "../api/metrics.js";
import type { queuesApi } from "../api/queues.js";
import type { ticketsApi } from "../api/realtime.js";
import type { recurringApi } from "../api/recurring.js";
import type { webhooksApi } from "../api/webhooks.js";
import type { PatchHttpJobTypeSchema, RegisterHttpJobTypeSchema } from "../http-types/model.js";
import type { BatchRequestSchema, ExecuteRequestSchema, JobRequestSchema, JobStatus, ListJobsQuery, RetryRequestSchema } from "../model/job.js";
import type { BulkJobsRequestSchema } from "../model/job-bulk.js";
import type { JobTypesQuery, PerformanceQuery } from "../model/metrics.js";
import type { ClearQueueSchema, QueueSettingsPatchSchema } from "../model/queue.js";
import type { ListRecurringJobsQuery, RecurringJobPatchSchema, RecurringJobRequestSchema } from "../model/recurring.js";
import type { CreateWebhookSchema, ListDeliveriesQuery, PatchWebhookSchema } from "../webhooks/model.js";

type SchemaOf<A> = A extends Hono<any, infer S, any> ? S : never;
/** What a route's handler answers with (`c.json(...)`), as JSON. */
type Out<A, Path extends keyof SchemaOf<A>, Method extends keyof SchemaOf<A>[Path]> = SchemaOf<A>[Path][Method] extends { output: infer O } ? O : never;

export type { JobStatus };

// Requests: what the server's zod schemas accept (their input side, so defaults are optional).
export type JobRequest = z.input<typeof JobRequestSchema>;
export type BatchRequest = z.input<typeof BatchRequestSchema>;
export type BulkJobsRequest = z.input<typeof BulkJobsRequestSchema>;
export type ExecuteRequest = z.input<typeof ExecuteRequestSchema>;
export type RetryRequest = z.input<typeof RetryRequestSchema>;
/** GET /jobs filters; `limit` and `offset` page through the list (listJobs does that for you). */
export type JobFilter = z.input<typeof ListJobsQuery>;
export type RecurringJobRequest = z.input<typeof RecurringJobRequestSchema>;
export type RecurringJobPatch = z.input<typeof RecurringJobPatchSchema>;
export type RecurringJobFilter = z.input<typeof ListRecurringJobsQuery>;
export type QueueSettingsPatch = z.input<typeof QueueSettingsPatchSchema>;
export type ClearQueueRequest = z.input<typeof ClearQueueSchema>;
export type CreateKeyRequest = z.input<typeof CreateKeySchema>;
export type CreateWebhookRequest = z.input<typeof CreateWebhookSchema>;
export type PatchWebhookRequest = z.input<typeof PatchWebhookSchema>;
export type DeliveriesFilter = z.input<typeof ListDeliveriesQuery>;
export type RegisterJobTypeRequest = z.input<typeof RegisterHttpJobTypeSchema>;
export type PatchJobTypeRequest = z.input<typeof PatchHttpJobTypeSchema>;
export type PerformanceFilter = z.input<typeof PerformanceQuery>;
export type JobTypesFilter = z.input<typeof JobTypesQuery>;

// Responses: what the handlers return.
/** POST /jobs of a one-off job (a cronExpression makes it a recurring job: use recurring.create). */
export type JobSummary = Out<typeof jobsApi, "/:id/retry", "$post">;
export type JobPage = Out<typeof jobsApi, "/", "$get">;
export type JobDetails = Out<typeof jobsApi, "/:id", "$get">;
export type BatchResult = Out<typeof jobsApi, "/batch", "$post">;
export type JobLogs = Out<typeof jobsApi, "/:id/logs", "$get">;
export type CancelResult = Out<typeof jobsApi, "/:id/cancel", "$post">;
export type BulkResult = Out<typeof jobsBulkApi, "/", "$post">;
export type RecurringJobDetails = Out<typeof recurringApi, "/:id", "$get">;
export type RecurringJob = Out<typeof recurringApi, "/:id", "$patch">;
export type RecurringJobPage = Out<typeof recurringApi, "/", "$get">;
export type QueueList = Out<typeof queuesApi, "/", "$get">;
export type QueueDetails = Out<typeof queuesApi, "/:name", "$get">;
export type ClearQueueResult = Out<typeof queuesApi, "/:name/clear", "$post">;
export type CreatedKey = Out<typeof keysApi, "/", "$post">;
export type KeyList = Out<typeof keysApi, "/", "$get">;
export type Webhook = Out<typeof webhooksApi, "/:id", "$get">;
export type CreatedWebhook = Out<typeof webhooksApi, "/", "$post">;
export type WebhookList = Out<typeof webhooksApi, "/", "$get">;
export type WebhookTestResult = Out<typeof webhooksApi, "/:id/test", "$post">;
export type RotatedSecret = Out<typeof webhooksApi, "/:id/rotate-secret", "$post">;
export type DeliveryPage = Out<typeof webhooksApi, "/:id/deliveries", "$get">;
export type Delivery = Out<typeof webhooksApi, "/deliveries/:deliveryId", "$get">;
export type JobTypeList = Out<typeof jobTypesApi, "/", "$get">;
export type JobType = Out<typeof jobTypesApi, "/:name", "$get">;
export type RegisteredJobType = Out<typeof jobTypesApi, "/", "$post">;
export type SystemMetrics = Out<typeof metricsApi, "/system", "$get">;
export type PerformanceReport = Out<typeof metricsApi, "/performance", "$get">;
export type JobTypeReport = Out<typeof metricsApi, "/job-types", "$get">;
export type Ticket = Out<typeof ticketsApi, "/", "$post">;
export type Me = Out<typeof meApi, "/", "$get">;

/** GET /keys lists keys; the element type. */
export type ApiKey = KeyList["keys"][number];

import type { Envelope, FilterSchema, Topic } from "../realtime/messages.js";
export type { Topic };
/** Narrows a subscription: each filter one value or a list; every filter given must match. */
export type SubscriptionFilters = z.input<typeof FilterSchema>;
/** A numbered live message (job-status-changed, job-progress, ...), or the replay-gap notice after a resume that came too late. */
export type LiveMessage = Envelope | { type: "replay-gap"; data: Record<string, unknown>; seq?: undefined; timestamp?: string };
