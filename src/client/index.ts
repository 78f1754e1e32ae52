// The typed client of the Edge Ticker API: `import { createClient, TickerQClient } from "edge-ticker/client"`.
// Runs wherever fetch is global (Node 20+, browsers, Workers); live features need a WebSocket (see ClientOptions).
import { EdgeTickerError } from "./errors.js";
import { seg, Transport, type Query } from "./http.js";
import { subscribeLive, type SubscribeOptions, type Unsubscribe, type WebSocketConstructor } from "./live.js";
import type * as T from "./types.js";

export { EdgeTickerError, EdgeTickerNetworkError, type ErrorDetail } from "./errors.js";
export type { SubscribeOptions, Unsubscribe, WebSocketConstructor, WebSocketLike } from "./live.js";
export type * from "./types.js";

export type ClientOptions = {
  /** The deployment's origin, e.g. "https://ticker.example.com" (a trailing API path is accepted too). */
  baseUrl: string;
  /** An API key or the admin token. */
  token: string;
  /** Where the API is mounted (the deployment's API_BASE_PATH); default "/api/tickerq". */
  basePath?: string;
  fetch?: typeof fetch;
  /** For subscribe and live waitForJob where there is no global WebSocket (Node 20: pass `WebSocket` from the `ws` package). */
  WebSocket?: WebSocketConstructor;
};

export type WaitOptions = {
  onProgress?: (progress: { percent: number; message: string | null }) => void;
  /** Give up (EdgeTickerError "timeout") after this long; default: wait for ever. */
  timeoutMs?: number;
  /** How often to poll GET /jobs/{id}: the only source without a WebSocket, a safety net beside it. Default 1 s (5 s with a WebSocket). */
  pollIntervalMs?: number;
};

const TERMINAL: readonly string[] = ["completed", "failed", "cancelled"];
const PAGE = 200;

export class EdgeTickerClient {
  protected readonly http: Transport;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;

  constructor(options: ClientOptions) {
    const origin = options.baseUrl.replace(/\/+$/, "");
    const basePath = (options.basePath ?? "/api/tickerq").replace(/\/+$/, "");
    const apiUrl = basePath && origin.endsWith(basePath) ? origin : origin + basePath;
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.http = new Transport(apiUrl, options.token, fetchImpl);
    this.WebSocketImpl = options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  }

  private get = <R>(path: string, query?: Query) => this.http.request<R>("GET", path, { query });
  private post = <R>(path: string, body?: unknown, headers?: Record<string, string>) => this.http.request<R>("POST", path, { body, headers });
  private patch = <R>(path: string, body: unknown) => this.http.request<R>("PATCH", path, { body });
  private del = (path: string) => this.http.request<void>("DELETE", path);

  readonly jobs = {
    /** POST /jobs. An idempotency key makes a retried call return the first job instead of creating another. */
    create: (request: T.JobRequest, options: { idempotencyKey?: string } = {}) =>
      this.post<T.JobSummary>("/jobs", request, options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : undefined),
    batch: (request: T.BatchRequest) => this.post<T.BatchResult>("/jobs/batch", request),
    bulk: (request: T.BulkJobsRequest) => this.post<T.BulkResult>("/jobs/bulk", request),
    /** One page of GET /jobs; see listJobs for every page. */
    list: (filter: T.JobFilter = {}) => this.get<T.JobPage>("/jobs", filter as Query),
    get: (id: string) => this.get<T.JobDetails>(`/jobs/${seg(id)}`),
    logs: (id: string) => this.get<T.JobLogs>(`/jobs/${seg(id)}/logs`),
    cancel: (id: string) => this.post<T.CancelResult>(`/jobs/${seg(id)}/cancel`),
    retry: (id: string, request: T.RetryRequest = {}) => this.post<T.JobSummary>(`/jobs/${seg(id)}/retry`, request),
    execute: (id: string, request: T.ExecuteRequest = {}) => this.post<T.JobSummary>(`/jobs/${seg(id)}/execute`, request),
  };

  readonly recurring = {
    create: (request: T.RecurringJobRequest) => this.post<T.RecurringJobDetails>("/jobs/recurring", request),
    list: (filter: T.RecurringJobFilter = {}) => this.get<T.RecurringJobPage>("/jobs/recurring", filter as Query),
    get: (id: string) => this.get<T.RecurringJobDetails>(`/jobs/recurring/${seg(id)}`),
    update: (id: string, patch: T.RecurringJobPatch) => this.patch<T.RecurringJob>(`/jobs/recurring/${seg(id)}`, patch),
    delete: (id: string) => this.del(`/jobs/recurring/${seg(id)}`),
    trigger: (id: string) => this.post<T.JobSummary>(`/jobs/recurring/${seg(id)}/trigger`),
    enable: (id: string) => this.post<T.RecurringJob>(`/jobs/recurring/${seg(id)}/enable`),
    disable: (id: string) => this.post<T.RecurringJob>(`/jobs/recurring/${seg(id)}/disable`),
  };

  readonly queues = {
    list: () => this.get<T.QueueList>("/queues"),
    get: (name: string) => this.get<T.QueueDetails>(`/queues/${seg(name)}`),
    configure: (name: string, patch: T.QueueSettingsPatch) => this.patch<T.QueueDetails>(`/queues/${seg(name)}`, patch),
    pause: (name: string) => this.post<T.QueueDetails>(`/queues/${seg(name)}/pause`),
    resume: (name: string) => this.post<T.QueueDetails>(`/queues/${seg(name)}/resume`),
    clear: (name: string, request: T.ClearQueueRequest = {}) => this.post<T.ClearQueueResult>(`/queues/${seg(name)}/clear`, request),
  };

  readonly webhooks = {
    create: (request: T.CreateWebhookRequest) => this.post<T.CreatedWebhook>("/webhooks", request),
    list: () => this.get<T.WebhookList>("/webhooks"),
    get: (id: string) => this.get<T.Webhook>(`/webhooks/${seg(id)}`),
    update: (id: string, patch: T.PatchWebhookRequest) => this.patch<T.Webhook>(`/webhooks/${seg(id)}`, patch),
    delete: (id: string) => this.del(`/webhooks/${seg(id)}`),
    test: (id: string) => this.post<T.WebhookTestResult>(`/webhooks/${seg(id)}/test`),
    rotateSecret: (id: string, request: { previousSecretTtlSeconds?: number } = {}) => this.post<T.RotatedSecret>(`/webhooks/${seg(id)}/rotate-secret`, request),
    deliveries: (id: string, filter: T.DeliveriesFilter = {}) => this.get<T.DeliveryPage>(`/webhooks/${seg(id)}/deliveries`, filter as Query),
    delivery: (deliveryId: string) => this.get<T.Delivery>(`/webhooks/deliveries/${seg(deliveryId)}`),
    redeliver: (deliveryId: string) => this.post<unknown>(`/webhooks/deliveries/${seg(deliveryId)}/redeliver`),
  };

  readonly keys = {
    create: (request: T.CreateKeyRequest) => this.post<T.CreatedKey>("/keys", request),
    list: () => this.get<T.KeyList>("/keys"),
    revoke: (id: string) => this.del(`/keys/${seg(id)}`),
  };

  readonly jobTypes = {
    list: () => this.get<T.JobTypeList>("/job-types"),
    get: (name: string) => this.get<T.JobType>(`/job-types/${seg(name)}`),
    register: (request: T.RegisterJobTypeRequest) => this.post<T.RegisteredJobType>("/job-types", request),
    update: (name: string, patch: T.PatchJobTypeRequest) => this.patch<T.JobType>(`/job-types/${seg(name)}`, patch),
    delete: (name: string) => this.del(`/job-types/${seg(name)}`),
  };

  readonly metrics = {
    system: () => this.get<T.SystemMetrics>("/metrics/system"),
    performance: (filter: T.PerformanceFilter = {}) => this.get<T.PerformanceReport>("/metrics/performance", filter as Query),
    jobTypes: (filter: T.JobTypesFilter = {}) => this.get<T.JobTypeReport>("/metrics/job-types", filter as Query),
  };

  readonly realtime = {
    /** A single-use, 60-second ticket for the streaming routes (subscribe takes one per connection by itself). */
    ticket: () => this.post<T.Ticket>("/realtime/tickets"),
  };

  /** Who the token is: key id, name and scopes. */
  me = () => this.get<T.Me>("/me");

  getJob = (id: string) => this.jobs.get(id);

  /** Every job matching the filter, page after page (`limit` sets the page size). */
  async *listJobs(filter: Omit<T.JobFilter, "offset"> = {}): AsyncGenerator<T.JobPage["jobs"][number], void, undefined> {
    let offset = 0;
    for (;;) {
      const page = await this.jobs.list({ limit: PAGE, ...filter, offset });
      yield* page.jobs;
      if (!page.hasMore || page.jobs.length === 0) return;
      offset += page.jobs.length;
    }
  }

  /**
   * Live messages of the given topics over the WebSocket: reconnects by itself and resumes where it left off,
   * so no message is lost or repeated. Returns the function that stops it.
   */
  subscribe(topics: T.Topic[], handler: (message: T.LiveMessage) => void, options: SubscribeOptions = {}): Unsubscribe {
    const WebSocketImpl = this.WebSocketImpl;
    if (!WebSocketImpl) throw new TypeError("No WebSocket here (Node 20 has none): pass createClient({ ..., WebSocket }) e.g. from the `ws` package.");
    const wsUrl = `${this.http.apiUrl.replace(/^http/, "ws")}/ws`;
    return subscribeLive({ wsUrl, ticket: () => this.realtime.ticket(), WebSocket: WebSocketImpl }, topics, handler, options);
  }

  /** Resolves with the job once it has finished (completed, failed or cancelled), reporting its progress on the way. */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<T.JobDetails> {
    const live = this.WebSocketImpl !== undefined;
    const every = options.pollIntervalMs ?? (live ? 5_000 : 1_000);
    let lastProgress: string | undefined;
    const report = (percent: unknown, message: unknown) => {
      if (typeof percent !== "number" || !options.onProgress) return;
      const key = `${percent}|${message}`;
      if (key === lastProgress) return;
      lastProgress = key;
      options.onProgress({ percent, message: typeof message === "string" ? message : null });
    };
    const check = async () => {
      const job = await this.jobs.get(id);
      if (job.progress) report(job.progress.percent, job.progress.message);
      return TERMINAL.includes(job.status) ? job : null;
    };
    const first = await check();
    if (first) return first;

    return new Promise<T.JobDetails>((resolve, reject) => {
      let done = false;
      let poll: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe: Unsubscribe | undefined;
      const deadline = options.timeoutMs ? setTimeout(() => finish(null, new EdgeTickerError(0, "timeout", `Job ${id} did not finish within ${options.timeoutMs} ms.`)), options.timeoutMs) : undefined;
      const finish = (job: T.JobDetails | null, error?: unknown) => {
        if (done) return;
        done = true;
        if (poll !== undefined) clearTimeout(poll);
        if (deadline !== undefined) clearTimeout(deadline);
        unsubscribe?.();
        if (job) resolve(job);
        else reject(error);
      };
      const tick = () =>
        check().then(
          (job) => (job ? finish(job) : done || (poll = setTimeout(tick, every))),
          (e) => finish(null, e),
        );
      if (live) {
        unsubscribe = this.subscribe(["job-status", "job-progress"], (m) => {
          if (m.type === "job-progress") report(m.data.percent, m.data.message);
          else if (m.type === "job-status-changed" && TERMINAL.includes(String(m.data.status))) void check().then((job) => job && finish(job), (e) => finish(null, e));
        }, { filters: { jobId: id } });
        // A status change between the first check and the subscription would be missed: look once more when subscribed.
        unsubscribe.ready.then(
          () => void (done || check().then((job) => job && finish(job), () => {})),
          () => {},
        );
      }
      poll = setTimeout(tick, every);
    });
  }
}

export function createClient(options: ClientOptions): EdgeTickerClient {
  return new EdgeTickerClient(options);
}

/** The seed's JavaScript client, as its snippet calls it: `new TickerQClient(baseUrl, apiKey)`. */
export class TickerQClient extends EdgeTickerClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
    options: Omit<ClientOptions, "baseUrl" | "token"> = {},
  ) {
    super({ ...options, baseUrl, token: apiKey });
  }

  /** GET /jobs with the seed's filter object: `{ status, type, queue, limit, offset, ... }`. */
  getJobs(filter: T.JobFilter = {}): Promise<T.JobPage> {
    return this.jobs.list(filter);
  }

  /** POST /jobs: `options` are the request's other fields (`queue`, `priority`, `delay`, `name`, ...). */
  scheduleJob(jobType: string, parameters: T.JobRequest["parameters"] = {}, options: Omit<T.JobRequest, "type" | "parameters"> = {}): Promise<T.JobSummary> {
    return this.jobs.create({ type: jobType, parameters, ...options });
  }
}
