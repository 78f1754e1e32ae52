import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { renderDocsPage } from "../src/api/docs-page";
import { buildOpenApi, describedRoutes, registeredRoutes, UNDESCRIBED, type OpenApiDocument } from "../src/api/openapi";
import type { AppEnv } from "../src/http/app-env";
import { buildApp } from "../src/http/app";
import { CodeJobTypeSchema } from "../src/jobs/registry";
import { HttpJobTypeSchema } from "../src/http-types/model";
import { JobLogLineSchema, JobSummarySchema } from "../src/model/job";
import { JobDetailsSchema } from "../src/model/job-details";
import { ClearedQueueSchema, QueueDetailsSchema, QueueSummarySchema } from "../src/model/queue";
import { RecurringJobDetailsSchema, RecurringJobSchema } from "../src/model/recurring";
import { DeliverySchema, WebhookSchema } from "../src/webhooks/model";
import { exports } from "cloudflare:workers";
import { ApiKeySchema } from "../src/db/api-keys";
import { WbtJobSchema } from "../src/compat/wbt-model";
import { BulkResultSchema } from "../src/model/job-bulk";
import { requestJson, type CallInit } from "./support/client-core";
import { ADMIN, api, targetUrl, uniqueQueue, waitForStatus } from "./helpers";
import { webhookFactory } from "./webhook-helpers";

describe("OpenAPI and docs", () => {
  it("serves an OpenAPI 3.1 document generated from the request schemas", async () => {
    const res = await api("/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const create = res.json.paths["/api/tickerq/jobs"].post.requestBody.content["application/json"].schema;
    const [oneOff, recurring] = create.anyOf;
    expect(oneOff.properties).toHaveProperty("delay");
    expect(oneOff.required).toContain("type");
    expect(recurring.required).toEqual(expect.arrayContaining(["type", "cronExpression"]));
    expect(res.json.paths["/api/tickerq/jobs"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["status", "limit", "offset"]));
  });

  it("serves a docs page", async () => {
    const res = await api("/docs", { token: null });
    expect(res.status).toBe(200);
    expect(String(res.json)).toContain("openapi.json");
  });
});

describe("OpenAPI: metrics, exports and Grafana", () => {
  it("documents the metrics, export and Grafana routes, and Prometheus at the root", async () => {
    const { paths } = (await api("/openapi.json", { token: null })).json;
    for (const path of ["/api/tickerq/metrics/system", "/api/tickerq/metrics/performance", "/api/tickerq/metrics/job-types", "/metrics", "/api/tickerq/export/jobs", "/api/tickerq/export/history"]) {
      expect(paths[path]?.get, path).toBeDefined();
    }
    for (const path of ["search", "query", "annotations", "tag-keys", "tag-values"]) expect(paths[`/api/tickerq/grafana/${path}`]?.post, path).toBeDefined();
    expect(paths["/api/tickerq/export/jobs"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["format", "status", "queue", "from", "to", "limit"]));
    expect(paths["/api/tickerq/metrics/performance"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["from", "to", "granularity", "queue", "type"]));
  });
});

describe("OpenAPI: generated from the registered routes", () => {
  const registered = (basePath: string) => registeredRoutes(buildApp(basePath).routes).map((r) => `${r.method} ${r.path}`);
  const documented = (doc: OpenApiDocument) => Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));

  it("lists every route the app registers, each described, and describes no route the app lacks", () => {
    for (const basePath of ["/api/tickerq", ""]) {
      const app = buildApp(basePath);
      const doc = buildOpenApi(app.routes, basePath);
      const routes = registered(basePath);
      expect(routes.length).toBeGreaterThan(60);
      expect(documented(doc).sort()).toEqual([...routes].sort());
      const undescribed = routes.filter((key) => {
        const [method, path] = key.split(" ");
        return doc.paths[path][method].summary === UNDESCRIBED;
      });
      expect(undescribed, `routes with no entry in the description table (${basePath || "empty base path"})`).toEqual([]);
      expect(describedRoutes(basePath).filter((key) => !routes.includes(key)), "described routes the app does not register").toEqual([]);
    }
  });

  it("lists a route added to the app even when the description table lacks it", () => {
    const extra = new Hono<AppEnv>().get("/:thing", (c) => c.text("ok"));
    const app = buildApp("/api/tickerq", { "/extra": extra });
    const doc = buildOpenApi(app.routes, "/api/tickerq");
    expect(doc.paths["/api/tickerq/extra/{thing}"].get.summary).toBe(UNDESCRIBED);
    expect(doc.paths["/api/tickerq/extra/{thing}"].get.parameters).toEqual([{ name: "thing", in: "path", required: true, schema: { type: "string" } }]);
  });

  it("serves the document of the app it runs in, with unique operation ids, scopes and response schemas", async () => {
    const { json: doc } = await api("/openapi.json", { token: null });
    const named = (schema: any) => doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")];
    const ops = Object.values(doc.paths).flatMap((o: any) => Object.values(o)) as any[];
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths["/api/tickerq/jobs/{id}"].get.operationId).toBe("getJobsById");
    expect(doc.paths["/api/tickerq/jobs/{id}"].get.security).toEqual([{ bearer: ["tickerq:read"] }]);
    expect(doc.paths["/api/tickerq/health"].get.security).toEqual([]);
    expect(doc.paths["/api/tickerq/me"].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/api/tickerq/me"].get.responses).toHaveProperty("401");
    expect(doc.paths["/api/tickerq/jobs/{id}"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/JobDetails" });
    const jobSchema = named(doc.paths["/api/tickerq/jobs/{id}"].get.responses["200"].content["application/json"].schema);
    expect(jobSchema.required).toEqual(expect.arrayContaining(["id", "status", "executionHistory", "parameters"]));
    expect(jobSchema.properties.status.enum).toEqual(["pending", "running", "completed", "failed", "cancelled"]);
    const list = doc.paths["/api/tickerq/jobs"].get.responses["200"].content["application/json"].schema;
    expect(list.properties.jobs.items).toEqual({ $ref: "#/components/schemas/JobSummary" });
    expect(named(list.properties.jobs.items).required).toContain("scheduledAt");
    expect(doc.paths["/api/tickerq/jobs/{id}"].get.responses["404"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    expect(named(doc.paths["/api/tickerq/queues"].get.responses["200"].content["application/json"].schema.properties.queues.items).properties).toHaveProperty("throughput");
    // Descriptions given in zod come along.
    expect(doc.components.schemas.Error.properties.error.description).toBe("short, stable error code");
    expect(doc.components.schemas.JobDetails.properties.parameters.description).toBe("as sent, with credential parameters masked");
    expect(doc.components.schemas.JobSummary).not.toHaveProperty("id");
    // Every reference points at a schema the document has.
    for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)) expect(named({ $ref: ref[1] }), ref[1]).toBeDefined();
    // The summaries, scopes and status meanings of the former hand-kept table are still there.
    expect(doc.paths["/api/tickerq/jobs/{id}/cancel"].post.responses["202"].description).toBe("cancel requested");
    expect(doc.paths["/api/tickerq/queues/{name}"].patch.security).toEqual([{ bearer: ["tickerq:queue-admin"] }]);
    expect(doc.paths["/metrics"].get.summary).toMatch(/Prometheus/);
    expect(doc.paths["/api/jobs/{jobId}"].get.summary).toMatch(/WbtWebJob/);
  });
});

describe("OpenAPI: response schemas match real responses", () => {
  const createWebhook = webhookFactory();
  // parse() drops keys a schema does not name, so equality also proves the schema names every key the API sends.
  const matches = (schema: z.ZodType, body: unknown) => expect(schema.parse(body)).toEqual(body);

  it("jobs: create, get, list, logs, cancel", async () => {
    const queue = uniqueQueue("oa");
    const created = await api("/jobs", { body: { type: "echo", parameters: { message: "hi" }, queue, delay: "01:00:00" } });
    expect(created.status).toBe(201);
    matches(JobSummarySchema, created.json);
    matches(JobDetailsSchema, (await api(`/jobs/${created.json.id}`)).json);
    const list = await api(`/jobs?queue=${queue}`);
    expect(list.json.jobs).toHaveLength(1);
    matches(JobSummarySchema, list.json.jobs[0]);
    matches(z.object({ jobId: z.string(), logs: z.array(JobLogLineSchema) }), (await api(`/jobs/${created.json.id}/logs`)).json);
    matches(JobSummarySchema.extend({ cancelRequested: z.boolean() }), (await api(`/jobs/${created.json.id}/cancel`, { method: "POST" })).json);
    matches(JobDetailsSchema, (await waitForStatus(created.json.id, ["cancelled"])));
  });

  it("a finished job's details, with its attempts and result", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { message: "done" }, queue: uniqueQueue("oa") } });
    const done = await waitForStatus(created.json.id, ["completed"]);
    expect(done.executionHistory).toHaveLength(1);
    matches(JobDetailsSchema, done);
  });

  it("queues: list and one", async () => {
    const queue = uniqueQueue("oa");
    await api("/jobs", { body: { type: "echo", parameters: { message: "q" }, queue, delay: "01:00:00" } });
    const list = await api("/queues");
    expect(list.json.queues.length).toBeGreaterThan(0);
    for (const q of list.json.queues) matches(QueueSummarySchema, q);
    matches(QueueDetailsSchema, (await api(`/queues/${queue}`)).json);
    matches(QueueDetailsSchema, (await api(`/queues/${queue}`, { method: "PATCH", body: { rateLimit: { limit: 5, intervalSeconds: 1 } } })).json);
    const cleared = await api(`/queues/${queue}/clear`, { method: "POST" });
    expect(cleared.json.clearedPending).toBe(1);
    matches(ClearedQueueSchema, cleared.json);
  });

  it("recurring jobs: create, get, list, disable", async () => {
    const queue = uniqueQueue("oa");
    const created = await api("/jobs/recurring", { body: { type: "echo", cronExpression: "0 2 * * *", parameters: { message: "r" }, queue } });
    expect(created.status).toBe(201);
    matches(RecurringJobDetailsSchema, created.json);
    matches(RecurringJobDetailsSchema, (await api(`/jobs/recurring/${created.json.id}`)).json);
    const list = await api(`/jobs/recurring?queue=${queue}`);
    expect(list.json.recurringJobs).toHaveLength(1);
    matches(RecurringJobSchema, list.json.recurringJobs[0]);
    matches(RecurringJobSchema, (await api(`/jobs/recurring/${created.json.id}/disable`, { method: "POST" })).json);
    await api(`/jobs/recurring/${created.json.id}`, { method: "DELETE" });
  });

  it("webhooks: create, get, list, test delivery", async () => {
    const hook = await createWebhook({ url: `${targetUrl()}/hook/oa`, events: ["job.failed"], headers: { "X-Team": "ops" }, filters: { queues: ["a"] } });
    matches(WebhookSchema.extend({ secret: z.string() }), hook);
    matches(WebhookSchema, (await api(`/webhooks/${hook.id}`)).json);
    for (const w of (await api("/webhooks")).json.webhooks) matches(WebhookSchema, w);
    const tested = await api(`/webhooks/${hook.id}/test`, { method: "POST" });
    matches(z.object({ delivered: z.boolean(), delivery: DeliverySchema }), tested.json);
  });

  it("job types: list and one, code and HTTP", async () => {
    const list = await api("/job-types");
    const JobType = z.union([CodeJobTypeSchema, HttpJobTypeSchema]);
    expect(list.json.jobTypes.map((t: any) => t.name)).toContain("echo");
    for (const t of list.json.jobTypes) matches(JobType, t);
    matches(CodeJobTypeSchema, (await api("/job-types/echo")).json);
  });
});

describe("OpenAPI: response schemas of the other routes match real responses", () => {
  const matches = (schema: z.ZodType, body: unknown) => expect(schema.parse(body)).toEqual(body);
  const wbt = (path: string, init: CallInit = {}) => requestJson((req) => exports.default.fetch(req), `http://edge-ticker.test/api/jobs${path}`, ADMIN, init);

  it("keys, bulk actions and tickets", async () => {
    const created = await api("/keys", { body: { name: "openapi", scopes: ["tickerq:read"] } });
    matches(ApiKeySchema.extend({ key: z.string() }), created.json);
    for (const key of (await api("/keys")).json.keys) matches(ApiKeySchema, key);
    await api(`/keys/${created.json.id}`, { method: "DELETE" });
    matches(BulkResultSchema, (await api("/jobs/bulk", { body: { action: "cancel", filter: { queue: uniqueQueue("oa") }, dryRun: true } })).json);
    const ticket = await api("/realtime/tickets", { method: "POST" });
    expect(ticket.status).toBe(201);
  });

  it("the WbtWebJob-compatible routes", async () => {
    const created = await wbt("", { body: { businessId: `OA-${crypto.randomUUID()}`, jobType: 2, name: "count", configuration: '{"handler":"word-count","text":"x y"}' } });
    expect(created.status).toBe(201);
    matches(WbtJobSchema, created.json);
    matches(WbtJobSchema, (await wbt(`/${created.json.id}`)).json);
    matches(WbtJobSchema, (await wbt(`/business/${created.json.businessId}`)).json);
  });
});

describe("docs page", () => {
  it("renders the whole reference on the server: every operation, its schemas, and no script or outside request", async () => {
    const [page, { json: doc }] = await Promise.all([api("/docs", { token: null }), api("/openapi.json", { token: null })]);
    expect(page.status).toBe(200);
    const text = String(page.json);
    expect(text).not.toMatch(/<script|<link|@import|url\(/i);
    expect(text).not.toMatch(/(src|href)="https?:/i);
    for (const ops of Object.values(doc.paths) as any[]) for (const op of Object.values(ops) as any[]) expect(text).toContain(`id="${op.operationId}"`);
    expect(text).toContain("executionHistory");
    expect(text).toContain('<a href="#schema-JobDetails">JobDetails</a>');
    expect(text).toContain('id="schema-JobDetails"');
    expect(text).toContain("Schedule a job");
  });

  it("escapes what it shows", async () => {
    const doc = buildOpenApi([{ method: "GET", path: "/x" }], "");
    doc.info.title = "<img src=x onerror=alert(1)>";
    const page = String(renderDocsPage(doc, "/openapi.json"));
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img");
  });
});
