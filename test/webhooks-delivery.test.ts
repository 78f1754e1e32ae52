import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliveryStatement } from "../src/webhooks/sink";
import { resendStuckDeliveries } from "../src/webhooks/reconcile";
import { makeEvent } from "../src/model/events";
import { api, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";
import { setReceiverSecret, webhookFactory } from "./webhook-helpers";
import { openCredentials, sealCredentials } from "../src/webhooks/credentials";
import { requireEndpoint } from "../src/webhooks/endpoints";

const createWebhook = webhookFactory();

const tag = () => `wh-${crypto.randomUUID().slice(0, 8)}`;

async function deliveries(id: string, query = "") {
  const res = await api(`/webhooks/${id}/deliveries${query}`);
  expect(res.status).toBe(200);
  return res.json.deliveries as any[];
}

async function runJob(queue: string, parameters: Record<string, unknown> = { message: "hi" }, extra: Record<string, unknown> = {}) {
  const res = await api("/jobs", { body: { type: "echo", name: "Webhook test", queue, parameters, ...extra } });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

describe("webhook delivery", () => {
  it("signs each delivery so that a receiver verifies both signatures with its own HMAC code, and rejects a tampered body", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/verify/${t}`, events: ["job.completed"], filters: { queues: [queue] } });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await setReceiverSecret(t, hook.secret);

    const jobId = await runJob(queue);
    await waitForStatus(jobId, ["completed"]);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(t);
      return calls.length ? calls : null;
    }, 20_000);
    expect(call.verified).toEqual({ seed: true, standard: true });
    const payload = JSON.parse(call.body);
    expect(payload).toMatchObject({ event: "job.completed", data: { jobId, jobType: "echo", status: "completed", queue } });
    expect(payload.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(call.headers["x-tickerq-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(call.headers["webhook-id"]).toMatch(/^evt_/);
    expect(call.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const replay = (body: string) =>
      fetch(`${targetUrl()}/verify/${t}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-tickerq-signature": call.headers["x-tickerq-signature"],
          "webhook-id": call.headers["webhook-id"],
          "webhook-timestamp": call.headers["webhook-timestamp"],
          "webhook-signature": call.headers["webhook-signature"],
        },
      });
    expect((await replay(call.body)).status).toBe(200);
    const tampered = await replay(call.body.replace('"completed"', '"failed"'));
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { verified: unknown }).verified).toEqual({ seed: false, standard: false });

    const [log] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "succeeded" ? list : null;
    });
    expect(log).toMatchObject({ event: "job.completed", status: "succeeded", attempts: 1, responseCode: 200, error: null, eventId: call.headers["webhook-id"] });
    expect(log.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("retries a failing endpoint with backoff: 500 twice then 200 gives 3 attempts and one success, with a stable webhook-id", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({
      url: `${targetUrl()}/flaky/${t}?fail=2`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      retryPolicy: { maxRetries: 3, retryDelay: "00:00:01", backoff: "exponential" },
    });
    await runJob(queue);
    const [log] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "succeeded" ? list : null;
    }, 30_000);
    expect(log.attempts).toBe(3);
    expect(log.responseCode).toBe(200);
    expect(log.history.map((h: any) => h.responseCode)).toEqual([500, 500, 200]);
    expect(log.history.filter((h: any) => h.error === null)).toHaveLength(1);
    const { calls } = await targetCalls(t);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c: any) => c.headers["webhook-id"])).size).toBe(1);
    expect(new Set(calls.map((c: any) => c.body)).size).toBe(1);
    // Exponential backoff from 1 s: the second retry waits at least twice as long as the first.
    const gaps = [calls[1].at - calls[0].at, calls[2].at - calls[1].at];
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1900);
    const health = (await api(`/webhooks/${hook.id}`)).json.health;
    expect(health).toMatchObject({ consecutiveFailures: 0, succeededDeliveries: 1, failedDeliveries: 0, successRate: 1 });
  });

  it("a dead endpoint ends failed after maxRetries, with every attempt in the log", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({
      url: `${targetUrl()}/record/${t}?status=500`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      retryPolicy: { maxRetries: 2, retryDelay: "00:00:01", backoff: "fixed" },
    });
    await runJob(queue);
    const [log] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "failed" ? list : null;
    }, 30_000);
    expect(log).toMatchObject({ status: "failed", attempts: 3, responseCode: 500, error: "HTTP 500", nextRetryAt: null });
    expect(log.history.map((h: any) => h.responseCode)).toEqual([500, 500, 500]);
    expect((await targetCalls(t)).calls).toHaveLength(3);
    const hookNow = (await api(`/webhooks/${hook.id}`)).json;
    expect(hookNow.enabled).toBe(true);
    expect(hookNow.health).toMatchObject({ consecutiveFailures: 1, succeededDeliveries: 0, failedDeliveries: 1, successRate: 0 });
    expect((await deliveries(hook.id, "?status=failed")).length).toBe(1);
    expect((await deliveries(hook.id, "?status=succeeded")).length).toBe(0);
  });

  it("disables an endpoint after its limit of consecutive failed deliveries and raises system.alert", async () => {
    const queue = uniqueQueue("wh");
    const dead = tag();
    const watcher = tag();
    // The path and query of a Slack or Teams URL are the credential: no alert may carry them.
    const hook = await createWebhook({
      url: `${targetUrl()}/record/${dead}/T000/B000/XXXXSECRETXXXX?status=503&token=QUERYSECRET`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      retryPolicy: { maxRetries: 0 },
      disableAfterFailures: 2,
    });
    await createWebhook({ url: `${targetUrl()}/record/${watcher}`, events: ["system.alert"] });
    await runJob(queue);
    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "failed", 20_000);
    expect((await api(`/webhooks/${hook.id}`)).json.enabled).toBe(true);
    await runJob(queue);
    const disabled = await waitFor(async () => {
      const h = (await api(`/webhooks/${hook.id}`)).json;
      return h.enabled === false ? h : null;
    }, 20_000);
    expect(disabled.disabledReason).toMatch(/^2 consecutive failed deliveries/);
    expect(disabled.health.consecutiveFailures).toBe(2);
    const alert = await waitFor(async () => {
      const { calls } = await targetCalls(watcher);
      return calls.map((c: any) => JSON.parse(c.body)).find((b: any) => b.data.webhookId === hook.id);
    }, 20_000);
    expect(alert).toMatchObject({ event: "system.alert", data: { alert: "webhook_endpoint_disabled", webhookId: hook.id, consecutiveFailures: 2 } });
    const host = new URL(targetUrl()).host;
    expect(alert.data).toMatchObject({ host, message: expect.stringContaining(`${hook.id} (${host})`) });
    expect(alert.data.url).toBeUndefined();
    expect(JSON.stringify(alert)).not.toMatch(/XXXXSECRETXXXX|QUERYSECRET/);

    // A disabled endpoint gets no outbox rows at all.
    const third = await runJob(queue);
    await waitForStatus(third, ["completed"]);
    expect(await deliveries(hook.id)).toHaveLength(2);

    // Enabling it again clears the failure streak.
    const enabled = await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { enabled: true } });
    expect(enabled.json).toMatchObject({ enabled: true, disabledReason: null, health: { consecutiveFailures: 0 } });
  });

  it("410 Gone disables the endpoint at once; a redirect and a timeout are failed attempts", async () => {
    const queue = uniqueQueue("wh");
    const [gone, redirect, slow] = [tag(), tag(), tag()];
    const policy = { maxRetries: 3, retryDelay: "00:00:01" };
    const goneHook = await createWebhook({ url: `${targetUrl()}/record/${gone}?status=410`, events: ["job.completed"], filters: { queues: [queue] }, retryPolicy: policy });
    const redirectHook = await createWebhook({
      url: `${targetUrl()}/redirect/${redirect}?status=302&to=/record/${redirect}-followed`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      retryPolicy: { maxRetries: 0 },
    });
    const slowHook = await createWebhook({ url: `${targetUrl()}/slow/${slow}?ms=3000`, events: ["job.completed"], filters: { queues: [queue] }, retryPolicy: { maxRetries: 0 }, timeoutSeconds: 1 });
    await runJob(queue);
    const finished = async (id: string) => waitFor(async () => (await deliveries(id)).find((d) => d.status !== "pending"), 20_000);

    const g = await finished(goneHook.id);
    expect(g).toMatchObject({ status: "failed", attempts: 1, responseCode: 410 });
    const goneNow = (await api(`/webhooks/${goneHook.id}`)).json;
    expect(goneNow.enabled).toBe(false);
    expect(goneNow.disabledReason).toMatch(/410/);

    const r = await finished(redirectHook.id);
    expect(r).toMatchObject({ status: "failed", attempts: 1, responseCode: 302 });
    expect(r.error).toMatch(/Redirect .* not followed/);
    expect((await targetCalls(`${redirect}-followed`)).calls).toHaveLength(0);

    const s = await finished(slowHook.id);
    expect(s).toMatchObject({ status: "failed", attempts: 1, responseCode: null, error: "No answer within 1 s" });
  });

  it("honours Retry-After when it asks for longer than the backoff", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({
      url: `${targetUrl()}/flaky/${t}?fail=1&failStatus=429&retryAfter=3`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      retryPolicy: { maxRetries: 2, retryDelay: "00:00:01" },
    });
    await runJob(queue);
    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "succeeded", 30_000);
    const { calls } = await targetCalls(t);
    expect(calls).toHaveLength(2);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(2900);
  });

  it("outbox: a delivery committed with its event but never sent is sent by the reconciler; a change that did not commit writes nothing", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["queue.paused"], filters: { queues: [queue] } });
    const event = makeEvent("queue.paused", { queue, status: "paused" });
    const lost = makeEvent("queue.paused", { queue, status: "paused" });
    const longAgo = Date.now() - 120_000;
    // As if the process stopped right after the commit, before handing the delivery to the queue.
    await env.DB.batch([deliveryStatement(env, { event, guard: { sql: "1", params: [] } }, longAgo), deliveryStatement(env, { event: lost, guard: { sql: "0", params: [] } }, longAgo)]);
    const [row] = await deliveries(hook.id);
    expect(row).toMatchObject({ eventId: event.id, status: "pending", attempts: 0 });
    expect(await deliveries(hook.id)).toHaveLength(1);
    expect((await targetCalls(t)).calls).toHaveLength(0);

    expect(await resendStuckDeliveries(env)).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "succeeded", 20_000);
    const { calls } = await targetCalls(t);
    expect(calls).toHaveLength(1);
    expect(calls[0].headers["webhook-id"]).toBe(event.id);
    // Sent once: a second reconciler pass finds nothing of ours to resend.
    await resendStuckDeliveries(env);
    expect((await deliveries(hook.id))[0].attempts).toBe(1);
  });

  it("a pending delivery of an endpoint disabled meanwhile ends failed, with the reason, and sends nothing", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["queue.resumed"], filters: { queues: [queue] } });
    const event = makeEvent("queue.resumed", { queue, status: "running" });
    await deliveryStatement(env, { event, guard: { sql: "1", params: [] } }, Date.now() - 120_000).run();
    expect((await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { enabled: false } })).status).toBe(200);
    await resendStuckDeliveries(env);
    const [row] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "failed" ? list : null;
    }, 20_000);
    expect(row).toMatchObject({ attempts: 0, error: "The endpoint was disabled or deleted before this delivery was sent" });
    expect((await targetCalls(t)).calls).toHaveLength(0);
  });

  it("a stored header the runtime cannot send fails the delivery once, logged, instead of looping", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["queue.paused"], filters: { queues: [queue] }, retryPolicy: { maxRetries: 2, retryDelay: "00:00:01" } });
    // As stored before such values were refused at create and update.
    const row = await requireEndpoint(env, hook.id);
    const credentials = await openCredentials(env, row.credentials, row.id);
    const sealed = await sealCredentials(env, { ...credentials, headers: { "X-Api-Key": "a\r\nX-Injected: 1" } }, row.id);
    await env.DB.prepare("UPDATE webhook_endpoints SET credentials = ?, header_names = ? WHERE id = ?").bind(sealed, JSON.stringify(["X-Api-Key"]), row.id).run();
    await deliveryStatement(env, { event: makeEvent("queue.paused", { queue, status: "paused" }), guard: { sql: "1", params: [] } }, Date.now() - 120_000).run();
    await resendStuckDeliveries(env);
    const [failed] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "failed" ? list : null;
    }, 20_000);
    expect(failed.attempts).toBe(1);
    expect(failed.history).toHaveLength(1);
    expect(failed.error).toMatch(/custom header cannot be sent/);
    expect((await targetCalls(t)).calls).toHaveLength(0);
  });

  it("an exception after the delivery is claimed is a failed attempt, retried by the policy and then failed", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["queue.resumed"], filters: { queues: [queue] }, retryPolicy: { maxRetries: 1, retryDelay: "00:00:01" } });
    const event = makeEvent("queue.resumed", { queue, status: "running" });
    await deliveryStatement(env, { event, guard: { sql: "1", params: [] } }, Date.now() - 120_000).run();
    // A payload that no longer parses: reading the event throws once the attempt is claimed.
    await env.DB.prepare("UPDATE webhook_deliveries SET payload = '{not json' WHERE endpoint_id = ?").bind(hook.id).run();
    await resendStuckDeliveries(env);
    const [failed] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "failed" ? list : null;
    }, 20_000);
    expect(failed.attempts).toBe(2);
    expect(failed.history.map((h: { error: string }) => h.error)).toEqual([expect.stringMatching(/could not be attempted/), expect.stringMatching(/could not be attempted/)]);
    expect((await targetCalls(t)).calls).toHaveLength(0);
  });

  it("a batch of deliveries holds at most 6 connections, and each timeout starts when its request does", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/slow/${t}?ms=600`, events: ["queue.paused"], filters: { queues: [queue] }, timeoutSeconds: 1, retryPolicy: { maxRetries: 0 } });
    const longAgo = Date.now() - 120_000;
    await env.DB.batch(Array.from({ length: 18 }, () => deliveryStatement(env, { event: makeEvent("queue.paused", { queue, status: "paused" }), guard: { sql: "1", params: [] } }, longAgo)));
    await resendStuckDeliveries(env);
    const list = await waitFor(async () => {
      const rows = await deliveries(hook.id, "?limit=50");
      return rows.length === 18 && rows.every((d) => d.status !== "pending") ? rows : null;
    }, 25_000);
    expect(list.map((d) => d.status)).toEqual(list.map(() => "succeeded"));
    const { calls, maxConcurrent } = await targetCalls(t);
    expect(calls).toHaveLength(18);
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(maxConcurrent).toBeLessThanOrEqual(6);
  });

  it("only endpoints whose events and filters match get a delivery", async () => {
    const queue = uniqueQueue("wh");
    const other = uniqueQueue("wh");
    const t = tag();
    const byQueue = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["job.completed", "job.started"], filters: { queues: [queue] } });
    const byType = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["job.completed"], filters: { queues: [queue, other], jobTypes: ["word-count"] } });
    const failedOnly = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["job.failed"], filters: { queues: [queue] } });
    await waitForStatus(await runJob(queue), ["completed"]);
    await waitForStatus(await runJob(other), ["completed"]);
    await waitFor(async () => (await deliveries(byQueue.id)).filter((d) => d.status === "succeeded").length === 2, 20_000);
    expect((await deliveries(byQueue.id)).map((d) => d.event).sort()).toEqual(["job.completed", "job.started"]);
    expect(await deliveries(byType.id)).toHaveLength(0);
    expect(await deliveries(failedOnly.id)).toHaveLength(0);
  });
});

describe("webhook formats on the wire", () => {
  it("a template keeps valid JSON when a job name has quotes and newlines", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({
      url: `${targetUrl()}/record/${t}`,
      events: ["job.completed"],
      filters: { queues: [queue] },
      format: "template",
      formatOptions: {
        template: {
          short_description: "Job {{jobName}} is {{status}}",
          urgency: "{{#eq status 'failed'}}1{{else}}3{{/eq}}",
          result: "{{result}}",
        },
      },
    });
    const name = 'Say "hello"\nthen {{status}} \\ bye';
    const res = await api("/jobs", { body: { type: "echo", name, queue, parameters: { message: "m" } } });
    expect(res.status).toBe(201);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(t);
      return calls.length ? calls : null;
    }, 20_000);
    const body = JSON.parse(call.body);
    expect(body.short_description).toBe(`Job ${name} is completed`);
    expect(body.urgency).toBe("3");
    expect(JSON.parse(body.result)).toMatchObject({ echo: "m" });
    expect(call.headers["content-type"]).toBe("application/json");
    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "succeeded");
  });

  it("slack: a job named to ping the channel or disguise a link arrives escaped", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["job.completed"], filters: { queues: [queue] }, format: "slack" });
    const name = "<!channel> <https://evil.example/login|Open the dashboard>";
    expect((await api("/jobs", { body: { type: "echo", name, queue, parameters: { message: "m" } } })).status).toBe(201);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(t);
      return calls.length ? calls : null;
    }, 20_000);
    const body = JSON.parse(call.body);
    expect(body.text).toContain('"&lt;!channel&gt; &lt;https://evil.example/login|Open the dashboard&gt;" completed');
    expect(call.body).not.toMatch(/<!channel>|<https:/);
    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "succeeded");
  });

  it("a template whose rendered body passes the size cap fails the delivery at once, logged", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const repeated = Array.from({ length: 40 }, (_, i) => `"r${i}": {{result}}`).join(", ");
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["job.completed"], filters: { queues: [queue] }, format: "template", formatOptions: { template: `{ ${repeated} }` } });
    // A 10 KB result, 40 times over.
    expect((await api("/jobs", { body: { type: "echo", queue, parameters: { message: "m".repeat(10_000) } } })).status).toBe(201);
    const [failed] = await waitFor(async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === "failed" ? list : null;
    }, 20_000);
    expect(failed.attempts).toBe(1);
    expect(failed.error).toMatch(/longer than 262144 characters/);
    expect((await targetCalls(t)).calls).toHaveLength(0);
  });

  it("splunk-hec sends the HEC envelope with Authorization: Splunk <token>, custom headers, and never shows the token", async () => {
    const queue = uniqueQueue("wh");
    const t = tag();
    const hook = await createWebhook({
      url: `${targetUrl()}/record/${t}`,
      events: ["job.started"],
      filters: { queues: [queue] },
      format: "splunk-hec",
      formatOptions: { token: "hec-0000-1111", index: "jobs", sourcetype: "tickerq:event" },
      headers: { "X-Environment": "test" },
    });
    expect(JSON.stringify(hook)).not.toContain("hec-0000-1111");
    expect(hook.formatOptions).toEqual({ index: "jobs", sourcetype: "tickerq:event" });
    const jobId = await runJob(queue);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(t);
      return calls.length ? calls : null;
    }, 20_000);
    expect(call.headers.authorization).toBe("Splunk hec-0000-1111");
    expect(call.headers["x-environment"]).toBe("test");
    const body = JSON.parse(call.body);
    expect(body).toMatchObject({ host: "edge-ticker", source: "edge-ticker", sourcetype: "tickerq:event", index: "jobs", event: { event: "job.started", jobId, status: "running" } });
    expect(typeof body.time).toBe("number");

    // A PATCH that leaves the token out keeps it.
    const patched = await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { formatOptions: { index: "jobs2" } } });
    expect(patched.status).toBe(200);
    expect(patched.json.formatOptions).toEqual({ index: "jobs2" });
    await runJob(queue);
    const second = await waitFor(async () => {
      const { calls } = await targetCalls(t);
      return calls.length > 1 ? calls[1] : null;
    }, 20_000);
    expect(second.headers.authorization).toBe("Splunk hec-0000-1111");
    expect(JSON.parse(second.body).index).toBe("jobs2");
  });
});

