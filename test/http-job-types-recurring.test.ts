import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recurringSchedulerFor } from "../src/recurring/client";
import { advance, type RecurringScheduler } from "../src/recurring/recurring-scheduler";
import { ADMIN, api, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { requestJson, type CallInit } from "./support/client-core";
import { seedJob, serviceRegistrar } from "./http-job-type-helpers";
import { setReceiverSecret } from "./webhook-helpers";
import { jobTotal, runsOf } from "./queue-helpers";

const PARAMETERS = seedJob("").parameters;

const { registerService } = serviceRegistrar("Digest");

/** A recurring job of `type`, created disabled so that only the test decides when it runs. */
async function recurring(type: string, extra: Record<string, unknown> = {}) {
  const res = await api("/jobs/recurring", { body: { type, name: "Daily Digest", cronExpression: "* * * * *", parameters: PARAMETERS, enabled: false, queue: uniqueQueue(), ...extra } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as { id: string; queue: string };
}

const count = async (table: "jobs" | "recurring_jobs") =>
  table === "jobs" ? jobTotal() : (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

async function deliveries(tag: string, action = "run") {
  return (await targetCalls(tag)).calls.filter((c) => JSON.parse(c.body).action === action);
}

function callback(path: string, token: string, body?: unknown) {
  return exports.default
    .fetch(new Request(`http://edge-ticker.test${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body ?? {}) }))
    .then((r) => r.status);
}

function wbt(path: string, init: CallInit = {}) {
  return requestJson((req) => exports.default.fetch(req), `http://edge-ticker.test/api/jobs${path}`, ADMIN, init);
}

describe("recurring jobs of a registered HTTP job type", () => {
  it("validates parameters against the type's JSON Schema on create and patch (400 naming the field, nothing stored)", async () => {
    const type = await registerService(`rec-params-${crypto.randomUUID()}`);
    const queue = uniqueQueue();
    const before = await count("recurring_jobs");
    const body = { type: type.name, cronExpression: "0 2 * * *", parameters: PARAMETERS, queue };
    const missing = await api("/jobs/recurring", { body: { ...body, parameters: { templateId: "welcome-email" } } });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe("validation_error");
    expect(missing.json.details).toContainEqual({ path: "parameters.recipientEmail", message: "is required" });
    const wrong = await api("/jobs/recurring", { body: { ...body, parameters: { ...PARAMETERS, recipientEmail: "not an email" } } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.details[0].path).toBe("parameters.recipientEmail");
    const extra = await api("/jobs/recurring", { body: { ...body, parameters: { ...PARAMETERS, cc: "x" } } });
    expect(extra.status).toBe(400);
    // POST /jobs with a cronExpression is the same recurring path.
    const viaJobs = await api("/jobs", { body: { ...body, parameters: { ...PARAMETERS, templateId: "" } } });
    expect(viaJobs.status).toBe(400);
    expect(viaJobs.json.details[0].path).toBe("parameters.templateId");
    const unknown = await api("/jobs/recurring", { body: { ...body, type: "NoSuchJob" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.details[0].path).toBe("type");
    expect(unknown.json.message).toContain(type.name);
    expect(await count("recurring_jobs")).toBe(before);

    const created = await api("/jobs/recurring", { body });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ type: type.name, parameters: PARAMETERS });
    const viaJobsOk = await api("/jobs", { body: { ...body, name: "Nightly" } });
    expect(viaJobsOk.status, JSON.stringify(viaJobsOk.json)).toBe(201);
    expect(viaJobsOk.json.id).toMatch(/^rec_/);

    const badPatch = await api(`/jobs/recurring/${created.json.id}`, { method: "PATCH", body: { parameters: { recipientEmail: 5, templateId: "w" } } });
    expect(badPatch.status).toBe(400);
    expect(badPatch.json.details[0].path).toBe("parameters.recipientEmail");
    expect((await api(`/jobs/recurring/${created.json.id}`)).json.parameters).toEqual(PARAMETERS);
    const patch = await api(`/jobs/recurring/${created.json.id}`, { method: "PATCH", body: { parameters: { ...PARAMETERS, templateId: "digest" } } });
    expect(patch.status, JSON.stringify(patch.json)).toBe(200);
    expect(patch.json.parameters.templateId).toBe("digest");
    for (const id of [created.json.id, viaJobsOk.json.id]) await api(`/jobs/recurring/${id}`, { method: "DELETE" });
  });

  it("a triggered run is delivered as a signed POST and completes with the service's answer; a 202 run is finished by its callback", async () => {
    const tag = `rec-trigger-${crypto.randomUUID()}`;
    const type = await registerService(tag);
    const def = await recurring(type.name);
    const run = await api(`/jobs/recurring/${def.id}/trigger`, { method: "POST" });
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    const job = await waitForStatus(run.json.id, ["completed", "failed"]);
    expect(job.status, job.error).toBe("completed");
    expect(job.result).toEqual({ messageId: "msg-1", deliveryStatus: "delivered", to: "newuser@example.com" });
    expect(job.timeoutSeconds).toBe(5);
    const [call] = await deliveries(tag);
    expect(call.verified).toBe(true);
    expect(JSON.parse(call.body)).toMatchObject({ action: "run", jobId: job.id, type: type.name, name: "Daily Digest", attempt: 1, parameters: PARAMETERS });

    const laterTag = `rec-202-${crypto.randomUUID()}`;
    const later = await registerService(laterTag, "?status=202", { callbackTimeoutSeconds: 60 });
    const laterDef = await recurring(later.name);
    const laterRun = await api(`/jobs/recurring/${laterDef.id}/trigger`, { method: "POST" });
    const [accepted] = await waitFor(async () => {
      const calls = await deliveries(laterTag);
      return calls.length ? calls : null;
    });
    const { callback: cb } = JSON.parse(accepted.body);
    await waitForStatus(laterRun.json.id, ["running"]);
    expect(await callback(cb.paths.complete, cb.token, { result: { digest: "sent" } })).toBe(200);
    const done = await waitForStatus(laterRun.json.id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(done.result).toEqual({ digest: "sent" });
    for (const id of [def.id, laterDef.id]) await api(`/jobs/recurring/${id}`, { method: "DELETE" });
  });

  it("a scheduled run uses the type's definition at fire time, and keeps it afterwards", async () => {
    const oldTag = `rec-old-${crypto.randomUUID()}`;
    const newTag = `rec-new-${crypto.randomUUID()}`;
    const type = await registerService(oldTag);
    await setReceiverSecret(newTag, type.secret);
    const def = await recurring(type.name);
    const patched = await api(`/job-types/${type.name}`, { method: "PATCH", body: { url: `${targetUrl()}/service/${newTag}`, timeoutSeconds: 7 } });
    expect(patched.status).toBe(200);

    // Fire the slot that just began, as the scheduler's alarm does.
    const now = Date.now();
    await env.DB.prepare(`UPDATE recurring_jobs SET enabled = 1, next_run_at = ? WHERE id = ?`).bind(Math.floor(now / 60_000) * 60_000, def.id).run();
    await runInDurableObject(recurringSchedulerFor(env, def.id) as DurableObjectStub<RecurringScheduler>, (_instance, state) => advance(state, env, def.id, now));
    expect((await api(`/jobs/recurring/${def.id}/disable`, { method: "POST" })).status).toBe(200);
    const results = await runsOf(def.id);
    expect(results).toHaveLength(1);
    const occurrence = results[0].id;

    // A change after the run was made does not reach it.
    await api(`/job-types/${type.name}`, { method: "PATCH", body: { url: `${targetUrl()}/service/${oldTag}` } });
    const job = await waitForStatus(occurrence, ["completed", "failed"]);
    expect(job.status, job.error).toBe("completed");
    expect(job.timeoutSeconds).toBe(7);
    expect(job.recurringId).toBe(def.id);
    const calls = await deliveries(newTag);
    expect(calls.map((c) => JSON.parse(c.body).jobId)).toEqual([occurrence]);
    expect(calls[0].verified).toBe(true);
    expect(await deliveries(oldTag)).toEqual([]);
    await api(`/jobs/recurring/${def.id}`, { method: "DELETE" });
  });

  it("a type used by a recurring job, even a disabled one, cannot be deleted (409) until that recurring job is gone", async () => {
    const type = await registerService(`rec-delete-${crypto.randomUUID()}`);
    const def = await recurring(type.name);
    const refused = await api(`/job-types/${type.name}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(refused.json.message).toMatch(/recurring job/);
    expect((await api(`/job-types/${type.name}`)).status).toBe(200);
    expect((await api(`/jobs/recurring/${def.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/job-types/${type.name}`, { method: "DELETE" })).status).toBe(204);
    expect((await api("/jobs/recurring", { body: { type: type.name, cronExpression: "0 2 * * *", parameters: PARAMETERS, queue: uniqueQueue() } })).status).toBe(400);
  });
});

describe("WbtWebJob Custom jobs of a registered HTTP job type", () => {
  it("runs a Custom job whose configuration.handler names the type, and reports bad configurations against the configuration", async () => {
    const tag = `wbt-http-${crypto.randomUUID()}`;
    const type = await registerService(tag);
    const before = await count("jobs");
    const bad: [Record<string, unknown>, string][] = [
      [{ handler: type.name, templateId: "welcome-email" }, "configuration.recipientEmail"],
      [{ handler: type.name, ...PARAMETERS, recipientEmail: "nope" }, "configuration.recipientEmail"],
      [{ handler: "NoSuchJob", ...PARAMETERS }, "configuration.handler"],
      [{ handler: "", ...PARAMETERS }, "configuration.handler"],
    ];
    for (const [configuration, path] of bad) {
      const res = await wbt("", { body: { businessId: "DIGEST-1", jobType: 2, name: "digest", configuration: JSON.stringify(configuration) } });
      expect(res.status, JSON.stringify(configuration)).toBe(400);
      expect(res.json.details[0].path, JSON.stringify(res.json)).toBe(path);
    }
    // An HTTP job type is not a built-in one.
    expect((await wbt("", { body: { businessId: "DIGEST-1", jobType: 1, name: "digest", configuration: JSON.stringify({ handler: type.name, ...PARAMETERS }) } })).status).toBe(400);
    expect(await count("jobs")).toBe(before);

    const created = await wbt("", { body: { businessId: "DIGEST-1", jobType: 2, name: "digest", configuration: JSON.stringify({ handler: type.name, ...PARAMETERS }) } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.id).toMatch(/^CU_/);
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status, job.error).toBe("completed");
    expect(job.type).toBe(type.name);
    const [call] = await deliveries(tag);
    expect(call.verified).toBe(true);
    expect(JSON.parse(call.body)).toMatchObject({ jobId: created.json.id, type: type.name, parameters: PARAMETERS });
  });
});
