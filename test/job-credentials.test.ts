import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { ADMIN, api, BASE, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { requestJson, type CallInit } from "./support/client-core";
import { createLiveJobs, findLiveJobs } from "../src/scheduler/client";
import { newJobId } from "../src/scheduler/job-ids";
import { liveJob } from "./queue-helpers";

const SECRETS = /tok-s3cret|pw-s3cret|key-s3cret|hdr-s3cret|cookie-s3cret/;

/** The stored parameters: as the job's queue scheduler holds them while it is live, else as D1 has them. */
const storedParameters = async (table: "jobs" | "recurring_jobs", id: string) => {
  if (table === "jobs") {
    const live = (await findLiveJobs(env, [id])).get(id);
    if (live) return live.job.parameters;
  }
  return (await env.DB.prepare(`SELECT parameters FROM ${table} WHERE id = ?`).bind(id).first<{ parameters: string }>())!.parameters;
};

/**
 * A copy of live job `id` with other stored parameters, due now, as a scheduler would hold a job
 * stored that way (e.g. before parameters were encrypted); the original is cancelled.
 */
async function storedAs(id: string, parameters: string): Promise<string> {
  const original = await liveJob(id);
  const now = Date.now();
  const copy = { ...original, id: newJobId(original.queue, now), parameters, runAt: now, createdAt: now, idempotencyKey: null, requestHash: null };
  const { created } = await createLiveJobs(env, [copy]);
  expect(created).toEqual([copy.id]);
  expect((await api(`/jobs/${id}/cancel`, { method: "POST" })).status).toBe(200);
  return copy.id;
}

/** The WbtWebJob API at /api/jobs. */
const wbt = (path: string, init: CallInit = {}) => requestJson((req) => exports.default.fetch(req), `http://edge-ticker.test/api/jobs${path}`, ADMIN, init);

/** The Worker with some settings changed (e.g. no WEBHOOK_SECRET_KEY), called as a client would. */
function apiWith(settings: Record<string, string | undefined>, path: string, init: CallInit = {}) {
  return requestJson(
    async (req) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch!(req as any, { ...env, ...settings } as Env, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    },
    `${BASE}${path}`,
    ADMIN,
    init,
  );
}

const httpParameters = (tag: string, query = "") => ({
  url: `${targetUrl()}/record/${tag}${query}`,
  method: "POST",
  headers: { "X-Api-Key": "hdr-s3cret", Cookie: "cookie-s3cret", "Content-Type": "application/json", "X-Trace": "trace-1" },
  body: { order: 1 },
  auth: { type: "bearer", token: "tok-s3cret" },
});

describe("http job credentials", () => {
  it("are stored encrypted, shown as *** and sent for real, also on a retry", async () => {
    const tag = `cred-${crypto.randomUUID()}`;
    const created = await api("/jobs", { body: { type: "http", parameters: httpParameters(tag, "?status=500"), maxRetries: 0, queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    const failed = await waitForStatus(created.json.id, ["failed", "completed"]);
    expect(failed.status).toBe("failed");

    expect(failed.parameters.auth).toEqual({ type: "bearer", token: "***" });
    // Every header value is a credential except a short allowlist (Content-Type, Accept, ...).
    expect(failed.parameters.headers).toEqual({ "X-Api-Key": "***", Cookie: "***", "Content-Type": "application/json", "X-Trace": "***" });
    expect(failed.parameters.url).toContain(tag);
    expect(await storedParameters("jobs", created.json.id)).not.toMatch(SECRETS);

    const retried = await api(`/jobs/${created.json.id}/retry`, { body: {} });
    expect(retried.status).toBe(202);
    await waitFor(async () => (await targetCalls(tag)).calls.length >= 2);
    const { calls } = await targetCalls(tag);
    for (const call of calls) {
      expect(call.headers).toMatchObject({ authorization: "Bearer tok-s3cret", "x-api-key": "hdr-s3cret", cookie: "cookie-s3cret", "x-trace": "trace-1" });
    }
    const all = [failed, (await api(`/jobs/${created.json.id}`)).json, (await api(`/jobs?queue=${failed.queue}`)).json, retried.json];
    expect(JSON.stringify(all)).not.toMatch(SECRETS);
  });

  it("never reach webhook payloads (the same event data the live channels carry)", async () => {
    const hook = await api("/webhooks", { body: { url: `${targetUrl()}/record/cred-hook`, events: ["job.started", "job.completed"] } });
    expect(hook.status).toBe(201);
    try {
      const created = await api("/jobs", { body: { type: "http", parameters: httpParameters(`evt-${crypto.randomUUID()}`), queue: uniqueQueue() } });
      await waitForStatus(created.json.id, ["completed"]);
      const payloads = await waitFor(async () => {
        const { results } = await env.DB.prepare(`SELECT payload FROM webhook_deliveries WHERE endpoint_id = ?`).bind(hook.json.id).all<{ payload: string }>();
        return results.length >= 2 ? results : null;
      });
      expect(payloads.map((p) => p.payload).join("")).toContain(created.json.id);
      expect(payloads.map((p) => p.payload).join("")).not.toMatch(SECRETS);
    } finally {
      await api(`/webhooks/${hook.json.id}`, { method: "DELETE" });
    }
  });

  it("masks a basic password and an API key value but not the user name or header name", async () => {
    const queue = uniqueQueue();
    const basic = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/x`, auth: { type: "basic", username: "alice", password: "pw-s3cret" } }, delay: "01:00:00", queue } });
    const apiKey = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/x`, auth: { type: "apiKey", headerName: "X-Key", value: "key-s3cret" } }, delay: "01:00:00", queue } });
    expect((await api(`/jobs/${basic.json.id}`)).json.parameters.auth).toEqual({ type: "basic", username: "alice", password: "***" });
    expect((await api(`/jobs/${apiKey.json.id}`)).json.parameters.auth).toEqual({ type: "apiKey", headerName: "X-Key", value: "***" });
    expect(await storedParameters("jobs", basic.json.id)).not.toMatch(SECRETS);
    expect(await storedParameters("jobs", apiKey.json.id)).not.toMatch(SECRETS);
  });

  it("masks the custom headers of a report job", async () => {
    const created = await api("/jobs", { body: { type: "report", parameters: { url: `${targetUrl()}/record/r`, headers: { Authorization: "Bearer tok-s3cret" } }, delay: "01:00:00", queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    expect((await api(`/jobs/${created.json.id}`)).json.parameters.headers).toEqual({ Authorization: "***" });
    expect(await storedParameters("jobs", created.json.id)).not.toMatch(SECRETS);
  });

  it("keep idempotent replays working without storing a plain hash of the credentials", async () => {
    const key = `idem-${crypto.randomUUID()}`;
    const body = { type: "http", parameters: httpParameters("idem"), delay: "01:00:00", queue: uniqueQueue() };
    const first = await api("/jobs", { body, headers: { "Idempotency-Key": key } });
    const again = await api("/jobs", { body, headers: { "Idempotency-Key": key } });
    expect(first.status).toBe(201);
    expect(again.json.id).toBe(first.json.id);
    const otherToken = { ...body, parameters: { ...body.parameters, auth: { type: "bearer", token: "tok-s3cret-2" } } };
    expect((await api("/jobs", { body: otherToken, headers: { "Idempotency-Key": key } })).status).toBe(409);
    // The unkeyed SHA-256 of the request would let anyone with a copy of D1 test token guesses offline.
    const { JobRequestSchema } = await import("../src/model/job");
    const { sha256Hex } = await import("../src/lib/crypto");
    const { requestHash } = await liveJob(first.json.id);
    expect(requestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(requestHash).not.toBe(await sha256Hex(JSON.stringify(JobRequestSchema.parse(body))));
  });

  it("still runs a job stored with plain-text credentials before encryption, and masks them", async () => {
    const tag = `legacy-${crypto.randomUUID()}`;
    const created = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/${tag}` }, delay: "01:00:00", queue: uniqueQueue() } });
    const plain = JSON.stringify({ url: `${targetUrl()}/record/${tag}`, headers: { "X-Api-Key": "hdr-s3cret" }, auth: { type: "bearer", token: "tok-s3cret" } });
    const id = await storedAs(created.json.id, plain);
    expect((await api(`/jobs/${id}`)).json.parameters).toMatchObject({ headers: { "X-Api-Key": "***" }, auth: { token: "***" } });
    const done = await waitForStatus(id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect((await targetCalls(tag)).calls[0].headers).toMatchObject({ authorization: "Bearer tok-s3cret", "x-api-key": "hdr-s3cret" });
  });

  it("without WEBHOOK_SECRET_KEY: a job with credentials is refused with a clear 503 and nothing is stored; one without runs", async () => {
    const queue = uniqueQueue();
    const refused = await apiWith({ WEBHOOK_SECRET_KEY: undefined }, "/jobs", { body: { type: "http", parameters: httpParameters("nokey"), queue } });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: "not_configured", message: expect.stringMatching(/WEBHOOK_SECRET_KEY/) });
    const recurring = await apiWith({ WEBHOOK_SECRET_KEY: undefined }, "/jobs/recurring", { body: { type: "http", cronExpression: "0 0 * * *", parameters: httpParameters("nokey"), queue } });
    expect(recurring.status).toBe(503);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
    expect((await api(`/jobs/recurring?queue=${queue}`)).json.totalCount).toBe(0);
    const plain = await apiWith({ WEBHOOK_SECRET_KEY: undefined }, "/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/x` }, delay: "01:00:00", queue } });
    expect(plain.status).toBe(201);
  });

  it("a job whose credentials cannot be decrypted fails with a message saying why", async () => {
    const created = await api("/jobs", { body: { type: "http", parameters: httpParameters("badkey"), delay: "01:00:00", maxRetries: 0, queue: uniqueQueue() } });
    const params = JSON.parse(await storedParameters("jobs", created.json.id));
    params.auth.token = { $sealed: "v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    const id = await storedAs(created.json.id, JSON.stringify(params));
    const failed = await waitForStatus(id, ["failed", "completed"]);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/credentials cannot be read.*WEBHOOK_SECRET_KEY/);
  });
});

describe("recurring http job credentials", () => {
  it("are stored encrypted, shown as ***, kept when sent back as *** and used by each run", async () => {
    const tag = `rec-${crypto.randomUUID()}`;
    const queue = uniqueQueue();
    const created = await api("/jobs/recurring", { body: { type: "http", cronExpression: "0 0 1 1 *", parameters: httpParameters(tag), queue } });
    expect(created.status).toBe(201);
    const id = created.json.id;
    expect(created.json.parameters.auth.token).toBe("***");
    expect(await storedParameters("recurring_jobs", id)).not.toMatch(SECRETS);

    // A client that read the job sends its parameters back with one header changed.
    const shown = (await api(`/jobs/recurring/${id}`)).json;
    const patched = await api(`/jobs/recurring/${id}`, { method: "PATCH", body: { parameters: { ...shown.parameters, headers: { ...shown.parameters.headers, "X-Trace": "trace-2" } } } });
    expect(patched.status).toBe(200);
    expect(await storedParameters("recurring_jobs", id)).not.toMatch(/trace-2|\*\*\*/);

    const run = await api(`/jobs/recurring/${id}/trigger`, { body: {} });
    expect(run.status).toBe(201);
    expect((await waitForStatus(run.json.id, ["completed", "failed"])).status).toBe("completed");
    const { calls } = await targetCalls(tag);
    expect(calls[0].headers).toMatchObject({ authorization: "Bearer tok-s3cret", "x-api-key": "hdr-s3cret", cookie: "cookie-s3cret", "x-trace": "trace-2" });

    const everything = [created.json, shown, patched.json, (await api(`/jobs/recurring?queue=${queue}`)).json, (await api(`/jobs/${run.json.id}`)).json];
    expect(JSON.stringify(everything)).not.toMatch(SECRETS);
  });
});

describe("WbtWebJob http job credentials", () => {
  it("are masked in the configuration string and the stored record, and sent for real", async () => {
    const tag = `wbt-${crypto.randomUUID()}`;
    const configuration = JSON.stringify({ url: `${targetUrl()}/record/${tag}`, method: "POST", headers: { Cookie: "cookie-s3cret", Accept: "text/plain" }, authType: "Bearer", token: "tok-s3cret" });
    const created = await wbt("", { body: { businessId: `B-${tag}`, jobType: 3, name: "call", configuration } });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.json.configuration)).toMatchObject({ token: "***", headers: { Cookie: "***", Accept: "text/plain" }, authType: "Bearer" });
    const stored = await env.DB.prepare(`SELECT configuration FROM wbt_jobs WHERE job_id = ?`).bind(created.json.id).first<{ configuration: string }>();
    expect(stored!.configuration).not.toMatch(SECRETS);
    expect(await storedParameters("jobs", created.json.id)).not.toMatch(SECRETS);

    await waitForStatus(created.json.id, ["completed"]);
    expect((await targetCalls(tag)).calls[0].headers).toMatchObject({ authorization: "Bearer tok-s3cret", cookie: "cookie-s3cret" });
    const shown = [created.json, (await wbt(`/${created.json.id}`)).json, (await wbt(`/business/B-${tag}`)).json, (await api(`/jobs/${created.json.id}`)).json];
    expect(JSON.stringify(shown)).not.toMatch(SECRETS);
  });

  it("masks a plain-text configuration stored before encryption, and the parameters of jobs created through the main API", async () => {
    const created = await api("/jobs", { body: { type: "http", parameters: httpParameters("wbt-main"), delay: "01:00:00", queue: uniqueQueue() } });
    const viaWbt = await wbt(`/${created.json.id}`);
    expect(JSON.parse(viaWbt.json.configuration).auth.token).toBe("***");

    const old = await wbt("", { body: { businessId: `OLD-${crypto.randomUUID()}`, jobType: 1, name: "old", configuration: '{"handler":"echo","message":"hi"}' } });
    const plain = JSON.stringify({ handler: "http", url: "http://example.com/", auth: { type: "bearer", token: "tok-s3cret" } });
    await env.DB.prepare(`UPDATE wbt_jobs SET configuration = ? WHERE job_id = ?`).bind(plain, old.json.id).run();
    const shown = await wbt(`/${old.json.id}`);
    expect(JSON.parse(shown.json.configuration)).toEqual({ handler: "http", url: "http://example.com/", auth: { type: "bearer", token: "***" } });
  });
});

describe("WEBHOOK_SECRET_KEY", () => {
  const hook = { url: "https://hooks.example.com/a", events: ["job.failed"], secret: "webhook-secret-key-0001" };

  it("is required to create a webhook: a clear 503, whatever ADMIN_TOKEN is", async () => {
    const before = (await api("/webhooks")).json.webhooks.length;
    const res = await apiWith({ WEBHOOK_SECRET_KEY: undefined }, "/webhooks", { body: hook });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: "not_configured", message: expect.stringMatching(/WEBHOOK_SECRET_KEY/) });
    expect((await api("/webhooks")).json.webhooks.length).toBe(before);
  });

  it("migrates secrets sealed with the old ADMIN_TOKEN-derived key: read with LEGACY_WEBHOOK_SECRET_KEY, then re-encrypted", async () => {
    const created = await api("/webhooks", { body: { ...hook, url: `${targetUrl()}/record/legacy-hook` } });
    const id = created.json.id;
    // What a deployment without WEBHOOK_SECRET_KEY stored: the same sealing keyed by ADMIN_TOKEN.
    const { sealCredentials } = await import("../src/webhooks/credentials");
    const oldBlob = await sealCredentials({ ...env, WEBHOOK_SECRET_KEY: ADMIN } as Env, { secret: hook.secret, previousSecret: null, headers: {}, token: null }, id);
    await env.DB.prepare(`UPDATE webhook_endpoints SET credentials = ? WHERE id = ?`).bind(oldBlob, id).run();

    const unreadable = await api(`/webhooks/${id}/test`, { body: {} });
    expect(unreadable.json.delivered).toBe(false);
    expect(unreadable.json.delivery.error ?? JSON.stringify(unreadable.json)).toMatch(/WEBHOOK_SECRET_KEY/);

    const legacy = { LEGACY_WEBHOOK_SECRET_KEY: ADMIN };
    expect((await apiWith(legacy, `/webhooks/${id}/test`, { body: {} })).json.delivered).toBe(true);
    const migrated = await apiWith(legacy, "/webhooks/re-encrypt", { body: {} });
    expect(migrated.status).toBe(200);
    expect(migrated.json.webhooks).toBe(1);
    expect(migrated.json.unreadable).not.toContain(id);
    expect((await apiWith(legacy, "/webhooks/re-encrypt", { body: {} })).json).toMatchObject({ webhooks: 0 });

    expect((await api(`/webhooks/${id}/test`, { body: {} })).json.delivered).toBe(true);
    await api(`/webhooks/${id}`, { method: "DELETE" });
  });

  it("opens a blob written by the earlier ADMIN_TOKEN-derived key only through LEGACY_WEBHOOK_SECRET_KEY", async () => {
    // Sealed by the previous release's code for endpoint wh_fixed with ADMIN_TOKEN=test-admin-token and no WEBHOOK_SECRET_KEY.
    const blob =
      "v1.vL2Upc4g6alpdI0x.Y5JDbQ3RfO8sD62feCRLIHmiQAijCz9zGeOeqZId/Ej0GgT+Z8kNY/MQGbYUgrGqF3fQRch5lapMivOGi/QiF7XqSg9wqPh2qepDgh2dPfU+5q2UosJ1YngZFMFKdylnJEp7n1LsybE4vDIzBv9Vn5//YIqdb6m8CaA=";
    const { openCredentials, CredentialsUnavailableError } = await import("../src/webhooks/credentials");
    await expect(openCredentials(env, blob, "wh_fixed")).rejects.toBeInstanceOf(CredentialsUnavailableError);
    const opened = await openCredentials({ ...env, LEGACY_WEBHOOK_SECRET_KEY: "test-admin-token" } as Env, blob, "wh_fixed");
    expect(opened).toMatchObject({ secret: "old-secret-0123456789", headers: { "X-Api-Key": "old-header" } });
  });

  it("re-encrypts job credentials after a change of key, and refuses to run without a key", async () => {
    const oldKey = { WEBHOOK_SECRET_KEY: "old-key-0123456789abcdef0123456789" };
    const queue = uniqueQueue();
    const created = await apiWith(oldKey, "/jobs", { body: { type: "http", parameters: httpParameters("rekey"), delay: "01:00:00", queue } });
    const recurring = await apiWith(oldKey, "/jobs/recurring", { body: { type: "http", cronExpression: "0 0 1 1 *", parameters: httpParameters("rekey"), queue } });
    expect([created.status, recurring.status]).toEqual([201, 201]);
    const { parametersForRun } = await import("../src/jobs/job-secrets");
    const row = { type: "http", parameters: await storedParameters("jobs", created.json.id) };
    expect((await parametersForRun(env, row)).ok).toBe(false);

    expect((await apiWith({ LEGACY_WEBHOOK_SECRET_KEY: oldKey.WEBHOOK_SECRET_KEY }, "/webhooks/re-encrypt", { body: {} })).json).toMatchObject({ recurringJobs: 1, jobs: 1 });
    const opened = await parametersForRun(env, { type: "http", parameters: await storedParameters("jobs", created.json.id) });
    expect(opened).toMatchObject({ ok: true, parameters: { auth: { token: "tok-s3cret" }, headers: { Cookie: "cookie-s3cret" } } });
    const openedRecurring = await parametersForRun(env, { type: "http", parameters: await storedParameters("recurring_jobs", recurring.json.id) });
    expect(openedRecurring).toMatchObject({ ok: true, parameters: { auth: { token: "tok-s3cret" } } });

    expect((await apiWith({ WEBHOOK_SECRET_KEY: undefined }, "/webhooks/re-encrypt", { body: {} })).status).toBe(503);
    await api(`/jobs/recurring/${recurring.json.id}`, { method: "DELETE" });
  });
});
