import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readSettings } from "../src/config";
import { ApiError } from "../src/http/errors";
import { flushLive, schedulerFor } from "../src/scheduler/client";
import { RegisterHttpJobTypeSchema } from "../src/http-types/model";
import { registerHttpJobType } from "../src/http-types/registration";
import { api, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { EMAIL_SCHEMA, seedJob, serviceRegistrar } from "./http-job-type-helpers";
import { setReceiverSecret } from "./webhook-helpers";
import { jobTotal } from "./queue-helpers";
import { purgeFinishedJobs } from "../src/maintenance/retention";

const { registerService, track } = serviceRegistrar("Email");

const jobCount = jobTotal;

/** A callback call as the service makes it: the attempt's token and nothing else. */
function callback(path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return exports.default
    .fetch(new Request(`http://edge-ticker.test${path}`, { method: "POST", headers, body: JSON.stringify(body ?? {}) }))
    .then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
}

async function deliveries(tag: string, action = "run") {
  return (await targetCalls(tag)).calls.filter((c) => JSON.parse(c.body).action === action);
}

describe("registering HTTP job types", () => {
  it("shows the signing secret once and lists the type with the code types, each with its kind and schema", async () => {
    const tag = `reg-${crypto.randomUUID()}`;
    const type = await registerService(tag, "", { headers: { "X-Service-Key": "k1" } });
    expect(type.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const one = await api(`/job-types/${type.name}`);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ name: type.name, kind: "http", parameters: EMAIL_SCHEMA, timeoutSeconds: 5, maxRetries: 2, headers: ["X-Service-Key"] });
    expect(JSON.stringify(one.json)).not.toContain(type.secret);
    expect(JSON.stringify(one.json)).not.toContain("k1");
    const list = await api("/job-types");
    expect(list.status).toBe(200);
    const byName = new Map(list.json.jobTypes.map((t: any) => [t.name, t]));
    expect(byName.get("http")).toMatchObject({ kind: "built-in", parameters: { type: "object" } });
    expect((byName.get("word-count") as any).parameters.properties).toHaveProperty("text");
    expect(byName.get(type.name)).toMatchObject({ kind: "http", parameters: EMAIL_SCHEMA });
    expect((await api("/job-types/http")).json).toMatchObject({ name: "http", kind: "built-in" });
    expect((await api("/job-types/NoSuchType")).status).toBe(404);
  });

  it("refuses a bad JSON Schema, a built-in or taken name, bad fields and a non-admin caller, storing nothing", async () => {
    const url = `${targetUrl()}/service/x`;
    const name = `Bad-${crypto.randomUUID().slice(0, 8)}`;
    const cases: [unknown, string][] = [
      [{ type: "object", properties: { to: { type: "strin" } } }, "parameters.properties.to.type"],
      [{ type: "object", required: "to" }, "parameters.required"],
      [{ type: "object", properties: { to: { $ref: "https://example.com/remote.json" } } }, "parameters.properties.to.$ref"],
      [{ type: "object", properties: { to: { $ref: "#/$defs/missing" } } }, "parameters.properties.to.$ref"],
      [{ type: "object", properties: { to: { type: "string" } }, requird: ["to"] }, "parameters.requird"],
      [{ type: "object", properties: { to: { type: "string", pattern: "([a-z" } } }, "parameters.properties.to.pattern"],
      [{ type: "string" }, "parameters.type"],
      [{ type: "object", properties: { phone: { type: "string", format: "phone-number" } } }, "parameters.properties.phone.format"],
      [{ type: "object", properties: { n: { minimum: "1" } } }, "parameters.properties.n.minimum"],
    ];
    for (const [parameters, path] of cases) {
      const res = await api("/job-types", { body: { name, url, parameters } });
      expect(res.status, JSON.stringify(parameters)).toBe(400);
      expect(res.json.error).toBe("validation_error");
      expect(res.json.details[0].path, JSON.stringify(res.json)).toBe(path);
    }
    for (const body of [
      { name, url: "ftp://example.com/x" },
      { name: "1starts-with-digit", url },
      { name, url, timeoutSeconds: 0 },
      { name, url, timeoutSeconds: 841 },
      { name, url, callbackTimeoutSeconds: 8 * 86_400 },
      { name, url, headers: { "webhook-signature": "forged" } },
      { name, url, unknownField: true },
    ]) {
      const res = await api("/job-types", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api(`/job-types/${name}`)).status).toBe(404);

    const builtIn = await api("/job-types", { body: { name: "http", url } });
    expect(builtIn.status).toBe(409);
    expect(builtIn.json.message).toMatch(/built-in/);
    const taken = await registerService(`dup-${crypto.randomUUID()}`);
    const dup = await api("/job-types", { body: { name: taken.name, url } });
    expect(dup.status).toBe(409);
    expect(dup.json.message).toMatch(/already registered/);

    const writer = await api("/keys", { body: { name: "writer", scopes: ["tickerq:write", "tickerq:read"] } });
    const denied = await api("/job-types", { body: { name, url }, token: writer.json.key });
    expect(denied.status).toBe(403);
    expect((await api("/job-types", { token: writer.json.key })).status).toBe(200);
    await api(`/keys/${writer.json.id}`, { method: "DELETE" });
  });

  it("refuses a private URL where private targets are not allowed, and accepts it where they are", async () => {
    const strict = { ...readSettings(env), allowPrivateTargets: false };
    for (const url of ["http://127.0.0.1:8080/jobs", "http://10.0.0.5/jobs", "http://169.254.169.254/latest", "http://localhost/jobs"]) {
      const input = RegisterHttpJobTypeSchema.parse({ name: `Private-${crypto.randomUUID().slice(0, 8)}`, url });
      const err = await registerHttpJobType(env, input, strict).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(400);
      expect(err.details[0].path).toBe("url");
      expect((await api(`/job-types/${input.name}`)).status).toBe(404);
    }
    // The test deployment allows private targets (as local development does).
    await registerService(`private-${crypto.randomUUID()}`);
    const patch = await registerHttpJobType(env, RegisterHttpJobTypeSchema.parse({ name: `Public-${crypto.randomUUID().slice(0, 8)}`, url: "https://jobs.example.com/run" }), strict);
    track(patch.row.name);
    const { patchHttpJobType } = await import("../src/http-types/registration");
    const err = await patchHttpJobType(env, patch.row.name, { url: "http://192.168.1.10/run" }, strict).catch((e) => e);
    expect(err.status).toBe(400);
    expect((await api(`/job-types/${patch.row.name}`)).json.url).toBe("https://jobs.example.com/run");
  });
});

describe("jobs of an HTTP job type", () => {
  it("validates parameters against the registered schema at creation (400 naming the field, nothing stored)", async () => {
    const type = await registerService(`params-${crypto.randomUUID()}`);
    const queue = uniqueQueue();
    const before = await jobCount();
    const missing = await api("/jobs", { body: { type: type.name, parameters: { templateId: "welcome-email" }, queue } });
    expect(missing.status).toBe(400);
    expect(missing.json.details).toContainEqual({ path: "parameters.recipientEmail", message: "is required" });
    const wrong = await api("/jobs", { body: { type: type.name, parameters: { recipientEmail: "not an email", templateId: "w" }, queue } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.details[0].path).toBe("parameters.recipientEmail");
    const extra = await api("/jobs", { body: { type: type.name, parameters: { recipientEmail: "a@b.example", templateId: "w", cc: "x" }, queue } });
    expect(extra.status).toBe(400);
    const batch = await api("/jobs/batch", { body: { jobs: [seedJob(type.name, queue), { ...seedJob(type.name, queue), parameters: { recipientEmail: 5, templateId: "w" } }] } });
    expect(batch.status).toBe(400);
    expect(batch.json.details[0].path).toBe("jobs[1].parameters.recipientEmail");
    expect(await jobCount()).toBe(before);

    const unknown = await api("/jobs", { body: { type: "NoSuchJob", queue } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.details[0].path).toBe("type");
    expect(unknown.json.message).toContain("http, echo");
    expect(unknown.json.message).toContain(type.name);
  });

  it("delivers the seed's EmailNotificationJob as a signed POST that the standardwebhooks package verifies; the JSON answer is the result", async () => {
    const tag = `ok-${crypto.randomUUID()}`;
    const type = await registerService(tag, "", { headers: { "X-Service-Key": "k1" } });
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status, job.error).toBe("completed");
    expect(job.result).toEqual({ messageId: "msg-1", deliveryStatus: "delivered", to: "newuser@example.com" });
    const [call] = await targetCalls(tag).then((r) => r.calls);
    expect(call.verified).toBe(true);
    expect(call.headers).toMatchObject({ "content-type": "application/json", "x-service-key": "k1", "webhook-id": `${job.id}_1` });
    const body = JSON.parse(call.body);
    expect(body).toMatchObject({ action: "run", jobId: job.id, type: type.name, name: "Welcome Email", attempt: 1, parameters: seedJob("", "").parameters });
    expect(body.callback.paths.complete).toBe(`/api/tickerq/jobs/${job.id}/attempts/1/complete`);
    // A forged body does not verify with the same headers.
    const forged = await fetch(`${targetUrl()}/service/${tag}`, { method: "POST", headers: { ...call.headers }, body: call.body.replace("newuser", "attacker") });
    expect(forged.status).toBe(401);
    // Answered at once, so the attempt's callback token is spent.
    expect((await callback(body.callback.paths.complete, body.callback.token, { result: 1 })).status).toBe(409);
  });

  it("retries an attempt answered 500 with backoff, then completes", async () => {
    const tag = `flaky-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?fail=2");
    const created = await api("/jobs", { body: { ...seedJob(type.name, uniqueQueue()), maxRetries: undefined } });
    expect(created.json.maxRetries).toBe(2);
    const job = await waitForStatus(created.json.id, ["completed", "failed"], 20_000);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "failed", "completed"]);
    expect(job.executionHistory[0].error).toMatch(/HTTP 500/);
    const calls = await deliveries(tag);
    expect(calls.map((c) => JSON.parse(c.body).attempt)).toEqual([1, 2, 3]);
    // The first retry waits RETRY_BASE_DELAY_MS (200 in tests) with equal jitter: at least 100 ms.
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(100);
  });

  it("keeps the definition it was created with: a PATCH or DELETE of the type changes new jobs only", async () => {
    const oldTag = `old-${crypto.randomUUID()}`;
    const newTag = `new-${crypto.randomUUID()}`;
    const type = await registerService(oldTag);
    await setReceiverSecret(newTag, type.secret);
    const queue = uniqueQueue();
    const early = await api("/jobs", { body: { ...seedJob(type.name, queue), delay: "00:00:02", maxRetries: undefined } });
    expect(early.status).toBe(201);
    const patched = await api(`/job-types/${type.name}`, { method: "PATCH", body: { url: `${targetUrl()}/service/${newTag}`, maxRetries: 0, timeoutSeconds: 7 } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ maxRetries: 0, timeoutSeconds: 7 });
    const late = await api("/jobs", { body: { ...seedJob(type.name, queue), maxRetries: undefined } });
    expect(late.json.maxRetries).toBe(0);
    expect(early.json.maxRetries).toBe(2);

    const pendingDelete = await api(`/job-types/${type.name}`, { method: "DELETE" });
    expect(pendingDelete.status).toBe(409);
    const [a, b] = await Promise.all([waitForStatus(early.json.id, ["completed", "failed"]), waitForStatus(late.json.id, ["completed", "failed"])]);
    expect([a.status, b.status]).toEqual(["completed", "completed"]);
    expect(a.timeoutSeconds).toBe(5);
    expect(b.timeoutSeconds).toBe(7);
    expect((await deliveries(oldTag)).map((c) => JSON.parse(c.body).jobId)).toEqual([early.json.id]);
    expect((await deliveries(newTag)).map((c) => JSON.parse(c.body).jobId)).toEqual([late.json.id]);

    expect((await api(`/job-types/${type.name}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/job-types/${type.name}`, { method: "DELETE" })).status).toBe(404);
    expect((await api("/jobs", { body: seedJob(type.name, queue) })).status).toBe(400);
    // A job created before the type was deleted still runs against its own copy.
    const rerun = await api(`/jobs/${early.json.id}/execute`, { method: "POST", body: {} });
    expect(rerun.status, JSON.stringify(rerun.json)).toBeLessThan(300);
    await waitFor(async () => (await deliveries(oldTag)).length === 2);
  });
});

describe("the callback flow (202)", () => {
  it("keeps the attempt running past the timeout and ends it with the service's callbacks, authenticated by the attempt's token alone", async () => {
    const tag = `cb-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?status=202", { timeoutSeconds: 1, callbackTimeoutSeconds: 30 });
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    const [call] = await waitFor(async () => {
      const calls = await deliveries(tag);
      return calls.length ? calls : null;
    });
    const { callback: cb } = JSON.parse(call.body);
    // Past the 1 s delivery timeout the attempt is still running.
    await new Promise((r) => setTimeout(r, 1500));
    const running = (await api(`/jobs/${created.json.id}`)).json;
    expect(running.status).toBe("running");

    const other = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    const otherCall = await waitFor(async () => (await deliveries(tag)).find((c) => JSON.parse(c.body).jobId === other.json.id));
    const otherToken = JSON.parse(otherCall.body).callback.token;

    expect((await callback(cb.paths.complete, null)).status).toBe(401);
    expect((await callback(cb.paths.complete, "wrong-token")).status).toBe(401);
    expect((await callback(cb.paths.complete, otherToken)).status).toBe(401);
    expect((await callback(cb.paths.complete.replace("/attempts/1/", "/attempts/2/"), cb.token)).status).toBe(401);
    expect((await callback(cb.paths.progress, cb.token, { percent: 150 })).status).toBe(400);

    expect((await callback(cb.paths.progress, cb.token, { percent: 40, message: "rendering" })).status).toBe(200);
    expect((await callback(cb.paths.logs, cb.token, { lines: [{ level: "Info", message: "template rendered" }] })).status).toBe(200);
    expect((await api(`/jobs/${created.json.id}`)).json.progress).toEqual({ percent: 40, message: "rendering" });
    const done = await callback(cb.paths.complete, cb.token, { result: { messageId: "msg-456", deliveryStatus: "delivered" } });
    expect(done.status).toBe(200);
    expect((await callback(cb.paths.complete, cb.token, { result: "again" })).status).toBe(409);
    expect((await callback(cb.paths.fail, cb.token, { error: "late" })).status).toBe(409);

    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ messageId: "msg-456", deliveryStatus: "delivered" });
    const logs = await api(`/jobs/${job.id}/logs`);
    expect(JSON.stringify(logs.json)).toContain("template rendered");
    expect((await callback(cb.paths.progress, cb.token, { percent: 90 })).status).toBe(409);

    expect((await callback(JSON.parse(otherCall.body).callback.paths.fail, otherToken, { error: "mailbox full", retry: false })).status).toBe(200);
    const failed = await waitForStatus(other.json.id, ["completed", "failed"]);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("mailbox full");
    expect(failed.executionHistory).toHaveLength(1);
  });

  it("fails the attempt when no callback comes within callbackTimeoutSeconds (its lease expires), and retries it", async () => {
    const tag = `cbto-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?status=202", { timeoutSeconds: 1, callbackTimeoutSeconds: 1, maxRetries: 1 });
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: { ...seedJob(type.name, queue), maxRetries: undefined } });
    // The cron reconciler heals queues with expired leases; here the heal is called directly.
    const job = await waitFor(
      async () => {
        await schedulerFor(env, queue).heal(queue);
        const j = (await api(`/jobs/${created.json.id}`)).json;
        return j.status === "failed" || j.status === "completed" ? j : null;
      },
      20_000,
      300,
    );
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/lease expired/);
    const calls = await deliveries(tag);
    expect(calls.map((c) => JSON.parse(c.body).attempt)).toEqual([1, 2]);
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "failed"]);
    const first = JSON.parse(calls[0].body).callback;
    expect((await callback(first.paths.complete, first.token)).status).toBe(409);
  });

  it("cancel reaches the service: a signed cancel notice, and its callbacks answer 409 cancelled", async () => {
    const tag = `cancel-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?status=202", { callbackTimeoutSeconds: 60 });
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    const [call] = await waitFor(async () => {
      const calls = await deliveries(tag);
      return calls.length ? calls : null;
    });
    const { callback: cb } = JSON.parse(call.body);
    await waitForStatus(created.json.id, ["running"]);
    const cancel = await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
    // Nothing in the Worker runs the attempt any more, so the cancel takes effect at once.
    expect(cancel.status).toBe(200);
    expect(cancel.json.status).toBe("cancelled");
    const job = await waitForStatus(created.json.id, ["cancelled", "completed", "failed"]);
    expect(job.status).toBe("cancelled");
    const [notice] = await deliveries(tag, "cancel");
    expect(notice.verified).toBe(true);
    expect(JSON.parse(notice.body)).toEqual({ action: "cancel", jobId: job.id, type: type.name, name: "Welcome Email", attempt: 1 });
    const late = await callback(cb.paths.complete, cb.token, { result: "done anyway" });
    expect(late.status).toBe(409);
    expect(late.json.error).toBe("cancelled");
    expect((await api(`/jobs/${job.id}`)).json.status).toBe("cancelled");
  });
});

describe("callbacks and cancels that race the delivery", () => {
  it("a callback that arrives before the service's 202 decides the attempt", async () => {
    const tag = `early-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?status=202&delayMs=1500");
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    const [call] = await waitFor(async () => {
      const calls = await deliveries(tag);
      return calls.length ? calls : null;
    });
    const { callback: cb } = JSON.parse(call.body);
    expect((await callback(cb.paths.complete, cb.token, { result: { early: true } })).status).toBe(200);
    expect((await callback(cb.paths.complete, cb.token, { result: { early: "again" } })).status).toBe(409);
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ early: true });
  });

  it("a cancel while the delivery is in flight aborts it and still sends the signed cancel notice", async () => {
    const tag = `inflight-${crypto.randomUUID()}`;
    const type = await registerService(tag, "?delayMs=4000");
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    await waitFor(async () => ((await deliveries(tag)).length ? true : null));
    const cancel = await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(202);
    const job = await waitForStatus(created.json.id, ["cancelled", "completed", "failed"]);
    expect(job.status).toBe("cancelled");
    const [notice] = await deliveries(tag, "cancel");
    expect(notice?.verified).toBe(true);
    expect(JSON.parse(notice.body)).toMatchObject({ action: "cancel", jobId: job.id, attempt: 1 });
  });
});

describe("OpenAPI", () => {
  it("documents the job-types routes and the token-only callback routes", async () => {
    const { paths } = (await api("/openapi.json", { token: null })).json;
    expect(paths["/api/tickerq/job-types"].post.security).toEqual([{ bearer: ["tickerq:admin"] }]);
    expect(paths["/api/tickerq/job-types/{name}"].delete).toBeDefined();
    expect(paths["/api/tickerq/jobs/{id}/attempts/{n}/complete"].post.security).toEqual([]);
    expect(paths["/api/tickerq/jobs/{id}/attempts/{n}/fail"].post.requestBody.content["application/json"].schema.required).toContain("error");
  });
});

describe("definitions go with their jobs", () => {
  it("deletes a job's stored definition and callback rows when the job itself is purged", async () => {
    const tag = `purge-${crypto.randomUUID()}`;
    const type = await registerService(tag);
    const created = await api("/jobs", { body: seedJob(type.name, uniqueQueue()) });
    await waitForStatus(created.json.id, ["completed"]);
    await flushLive(env, created.json.queue);
    const rows = async () =>
      (await env.DB.prepare(
        `SELECT (SELECT COUNT(*) FROM http_job_definitions WHERE job_id = ?1) + (SELECT COUNT(*) FROM http_job_callbacks WHERE job_id = ?1) AS n`,
      )
        .bind(created.json.id)
        .first<{ n: number }>())!.n;
    expect(await rows()).toBe(2);
    // Retention's run of a day from now: today's archive table, with this job, is past any age.
    await purgeFinishedJobs({ ...env, ARCHIVE_BUCKET: undefined } as Env, Date.now() + 86_400_000, 10);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE id = ?`).bind(created.json.id).first("n")).toBe(0);
    expect(await rows()).toBe(0);
  });
});
