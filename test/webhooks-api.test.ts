import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readSettings } from "../src/config";
import { createEndpoint, requireEndpoint } from "../src/webhooks/endpoints";
import { CreateWebhookSchema } from "../src/webhooks/model";
import { sendAttempt } from "../src/webhooks/send";
import { openCredentials } from "../src/webhooks/credentials";
import { DELIVERY_RETENTION_MS, purgeFinishedDeliveries } from "../src/webhooks/deliveries";
import { api, targetCalls, targetUrl, waitFor } from "./helpers";
import { setReceiverSecret, webhookFactory } from "./webhook-helpers";

const createWebhook = webhookFactory();

const tag = () => `wa-${crypto.randomUUID().slice(0, 8)}`;
const endpointCount = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_endpoints").first<{ n: number }>())!.n;
const ping = async (id: string) => {
  const res = await api(`/webhooks/${id}/test`, { method: "POST" });
  expect(res.status).toBe(200);
  return res.json;
};

describe("webhooks API", () => {
  it("creates, shows, updates and deletes an endpoint; the secret is shown once and stored encrypted", async () => {
    const hook = await createWebhook({
      url: "https://hooks.example.com/tickerq",
      description: "ops",
      events: ["job.completed", "job.failed", "system.alert"],
      secret: "webhook-secret-key-0001",
      headers: { "X-Api-Key": "header-secret-value" },
      retryPolicy: { maxRetries: 5, retryDelay: "00:00:30" },
      filters: { queues: ["emails"] },
    });
    expect(hook).toMatchObject({
      url: "https://hooks.example.com/tickerq",
      events: ["job.completed", "job.failed", "system.alert"],
      format: "json",
      headers: { "X-Api-Key": "***" },
      retryPolicy: { maxRetries: 5, retryDelay: "00:00:30", backoff: "exponential" },
      timeoutSeconds: 10,
      disableAfterFailures: 10,
      filters: { queues: ["emails"] },
      enabled: true,
      secret: "webhook-secret-key-0001",
      health: { consecutiveFailures: 0, succeededDeliveries: 0, failedDeliveries: 0, successRate: null },
    });
    const shown = await api(`/webhooks/${hook.id}`);
    expect(shown.status).toBe(200);
    expect(shown.json.secret).toBeUndefined();
    const listed = (await api("/webhooks")).json.webhooks.find((w: any) => w.id === hook.id);
    expect(JSON.stringify([shown.json, listed])).not.toMatch(/webhook-secret-key|header-secret-value/);
    const row = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(hook.id).first();
    expect(JSON.stringify(row)).not.toMatch(/webhook-secret-key|header-secret-value/);

    const patched = await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { events: ["job.failed"], retryPolicy: { maxRetries: 1 }, enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ events: ["job.failed"], retryPolicy: { maxRetries: 1, retryDelay: "00:00:30" }, enabled: false, disabledReason: "disabled by an administrator", headers: { "X-Api-Key": "***" } });

    expect((await api(`/webhooks/${hook.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/webhooks/${hook.id}`)).status).toBe(404);
    expect((await api(`/webhooks/${hook.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("generates a Standard Webhooks secret when none is given", async () => {
    const hook = await createWebhook({ url: "https://hooks.example.com/a", events: ["job.failed"] });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  });

  it.each([
    ["no url", { events: ["job.failed"] }, "url"],
    ["no events", { url: "https://hooks.example.com/a", events: [] }, "events"],
    ["an event that is not delivered by webhooks", { url: "https://hooks.example.com/a", events: ["job.progress"] }, "events[0]"],
    ["an unknown format", { url: "https://hooks.example.com/a", events: ["job.failed"], format: "xml" }, "format"],
    ["jira without a project key", { url: "https://hooks.example.com/a", events: ["job.failed"], format: "jira" }, "formatOptions.projectKey"],
    ["splunk without a token", { url: "https://hooks.example.com/a", events: ["job.failed"], format: "splunk-hec" }, "formatOptions.token"],
    ["a template that does not parse", { url: "https://hooks.example.com/a", events: ["job.failed"], format: "template", formatOptions: { template: '{"a":"{{status"}' } }, "formatOptions.template"],
    ["a template that renders invalid JSON", { url: "https://hooks.example.com/a", events: ["job.failed"], format: "template", formatOptions: { template: '{"a": {{#eq status \'x\'}}1{{/eq}} }' } }, "formatOptions.template"],
    ["a reserved header", { url: "https://hooks.example.com/a", events: ["job.failed"], headers: { "X-TickerQ-Signature": "forged" } }, "headers"],
    ["a retry delay that is not a duration", { url: "https://hooks.example.com/a", events: ["job.failed"], retryPolicy: { retryDelay: "30s" } }, "retryPolicy.retryDelay"],
    ["too many retries", { url: "https://hooks.example.com/a", events: ["job.failed"], retryPolicy: { maxRetries: 11 } }, "retryPolicy.maxRetries"],
    ["a short secret", { url: "https://hooks.example.com/a", events: ["job.failed"], secret: "short" }, "secret"],
    ["an unknown field", { url: "https://hooks.example.com/a", events: ["job.failed"], retries: 3 }, ""],
    ["an ftp URL", { url: "ftp://hooks.example.com/a", events: ["job.failed"] }, "url"],
    ["credentials in the URL", { url: "https://user:pw@hooks.example.com/a", events: ["job.failed"] }, "url"],
  ])("refuses %s with a 400 naming the field, storing nothing", async (_name, body, path) => {
    const before = await endpointCount();
    const res = await api("/webhooks", { body });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("validation_error");
    expect(res.json.details.map((d: any) => d.path)).toContain(path);
    expect(await endpointCount()).toBe(before);
  });

  it.each(["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://[::1]/hook", "http://metadata.google.internal/x", "http://intranet/hook"])(
    "refuses the private or internal URL %s at creation when private targets are not allowed",
    async (url) => {
      const settings = { ...readSettings(env), allowPrivateTargets: false };
      const before = await endpointCount();
      await expect(createEndpoint(env, CreateWebhookSchema.parse({ url, events: ["job.failed"] }), settings)).rejects.toMatchObject({ status: 400, code: "validation_error", details: [{ path: "url" }] });
      expect(await endpointCount()).toBe(before);
    },
  );

  it.each([
    ["CR LF", "v\r\nX-Injected: 1"],
    ["LF", "v\nx"],
    ["NUL", "v\u0000x"],
  ])("refuses a custom header value with %s at create and update (400), and stores nothing", async (_, value) => {
    const before = await endpointCount();
    const created = await api("/webhooks", { body: { url: "https://hooks.example.com/h", events: ["job.failed"], headers: { "X-Api-Key": value } } });
    expect(created.status).toBe(400);
    expect(created.json).toMatchObject({ error: "validation_error", details: [{ path: "headers.X-Api-Key" }] });
    expect(await endpointCount()).toBe(before);
    const hook = await createWebhook({ url: "https://hooks.example.com/h", events: ["job.failed"], headers: { "X-Api-Key": "good" } });
    const patched = await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { headers: { "X-Api-Key": value } } });
    expect(patched.status).toBe(400);
    const row = await requireEndpoint(env, hook.id);
    expect((await openCredentials(env, row.credentials, row.id)).headers).toEqual({ "X-Api-Key": "good" });
  });

  it("checks the URL again at every delivery", async () => {
    const hook = await createWebhook({ url: `${targetUrl()}/record/${tag()}`, events: ["job.failed"] });
    const endpoint = await requireEndpoint(env, hook.id);
    const result = await sendAttempt(env, endpoint, { id: "evt_x", type: "job.failed", timestamp: new Date().toISOString(), data: {} }, { ...readSettings(env), allowPrivateTargets: false });
    expect(result).toMatchObject({ ok: false, permanent: true, status: null });
    expect(result.error).toMatch(/^Refused .*loopback/);
  });

  it("names the endpoint by its origin only in attempt errors (refused, redirected, unreachable)", async () => {
    const event = { id: "evt_x", type: "job.failed", timestamp: new Date().toISOString(), data: {} };
    const attempt = async (url: string, allowPrivateTargets = true) => {
      const hook = await createWebhook({ url, events: ["job.failed"] });
      return sendAttempt(env, await requireEndpoint(env, hook.id), event, { ...readSettings(env), allowPrivateTargets });
    };
    const origin = new URL(targetUrl()).origin;
    const refused = await attempt(`${targetUrl()}/record/T000/B000/PATHSECRET?token=QUERYSECRET`, false);
    expect(refused.error).toContain(origin);
    const redirected = await attempt(`${targetUrl()}/redirect/${tag()}/PATHSECRET?to=${encodeURIComponent("https://elsewhere.example/LOCATIONSECRET")}`);
    expect(redirected.error).toBe("Redirect (HTTP 302 to https://elsewhere.example) not followed");
    const unreachable = await attempt("http://127.0.0.1:9/hooks/PATHSECRET?token=QUERYSECRET");
    expect(unreachable.ok).toBe(false);
    for (const r of [refused, redirected, unreachable]) expect(r.error).not.toMatch(/PATHSECRET|QUERYSECRET|LOCATIONSECRET/);
  });

  it("needs the admin scope", async () => {
    const writer = (await api("/keys", { body: { name: "writer", scopes: ["tickerq:read", "tickerq:write"] } })).json;
    expect((await api("/webhooks", { token: writer.key })).status).toBe(403);
    expect((await api("/webhooks", { token: writer.key, body: { url: "https://hooks.example.com/a", events: ["job.failed"] } })).status).toBe(403);
    expect((await api("/webhooks", { token: null })).status).toBe(401);
  });

  it("sends a signed test ping and logs it", async () => {
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/verify/${t}`, events: ["job.failed"] });
    await setReceiverSecret(t, hook.secret);
    const res = await ping(hook.id);
    expect(res).toMatchObject({ delivered: true, delivery: { event: "ping", status: "succeeded", attempts: 1, responseCode: 200 } });
    const [call] = (await targetCalls(t)).calls;
    expect(call.verified).toEqual({ seed: true, standard: true });
    expect(JSON.parse(call.body)).toMatchObject({ event: "ping", data: { webhookId: hook.id } });
    const log = (await api(`/webhooks/${hook.id}/deliveries`)).json;
    expect(log).toMatchObject({ totalCount: 1, hasMore: false, deliveries: [{ id: res.delivery.id, event: "ping" }] });
    const one = await api(`/webhooks/deliveries/${res.delivery.id}`);
    expect(one.json).toMatchObject({ id: res.delivery.id, payload: { type: "ping" }, history: [{ attempt: 1, responseCode: 200 }] });
  });

  it("rotates the secret: during the overlap both secrets sign, after it only the new one", async () => {
    const t = tag();
    const first = "first-secret-0123456789";
    const hook = await createWebhook({ url: `${targetUrl()}/verify/${t}`, events: ["job.failed"], secret: first });
    await setReceiverSecret(t, first);
    expect((await ping(hook.id)).delivered).toBe(true);

    const rotated = await api(`/webhooks/${hook.id}/rotate-secret`, { body: { overlap: "01:00:00" } });
    expect(rotated.status).toBe(200);
    const second = rotated.json.secret;
    expect(second).toMatch(/^whsec_/);
    expect(Date.parse(rotated.json.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect((await ping(hook.id)).delivered).toBe(true);
    const calls = (await targetCalls(t)).calls;
    const last = calls[calls.length - 1];
    expect(last.headers["x-tickerq-signature"].split(",")).toHaveLength(2);
    expect(last.headers["webhook-signature"].split(" ")).toHaveLength(2);
    await setReceiverSecret(t, second);
    expect((await ping(hook.id)).delivered).toBe(true);

    const third = (await api(`/webhooks/${hook.id}/rotate-secret`, { body: { overlap: "00:00:00" } })).json.secret;
    const refused = await ping(hook.id);
    expect(refused).toMatchObject({ delivered: false, delivery: { status: "failed", responseCode: 401 } });
    await setReceiverSecret(t, third);
    expect((await ping(hook.id)).delivered).toBe(true);
    expect((await api(`/webhooks/${hook.id}`)).json.previousSecretExpiresAt).toBeNull();
    expect((await api(`/webhooks/${hook.id}/rotate-secret`, { body: { secret: third } })).status).toBe(400);
  });

  it("redelivers a finished delivery with the same event and webhook-id", async () => {
    const t = tag();
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}?status=500`, events: ["job.failed"] });
    const failed = await ping(hook.id);
    expect(failed.delivered).toBe(false);
    expect((await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { url: `${targetUrl()}/record/${t}` } })).status).toBe(200);

    const again = await api(`/webhooks/deliveries/${failed.delivery.id}/redeliver`, { method: "POST" });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ status: "pending", redeliveryOf: failed.delivery.id, eventId: failed.delivery.eventId });
    const done = await waitFor(async () => {
      const d = (await api(`/webhooks/deliveries/${again.json.id}`)).json;
      return d.status === "succeeded" ? d : null;
    }, 20_000);
    expect(done.attempts).toBe(1);
    const calls = (await targetCalls(t)).calls;
    expect(calls).toHaveLength(2);
    expect(calls[1].headers["webhook-id"]).toBe(calls[0].headers["webhook-id"]);
    expect(calls[1].body).toBe(calls[0].body);

    expect((await api(`/webhooks/deliveries/whd_unknown/redeliver`, { method: "POST" })).status).toBe(404);
    expect((await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { enabled: false } })).status).toBe(200);
    const disabled = await api(`/webhooks/deliveries/${failed.delivery.id}/redeliver`, { method: "POST" });
    expect(disabled.status).toBe(409);
    expect(disabled.json.error).toBe("conflict");
  });

  it("lists deliveries with a validated query", async () => {
    const hook = await createWebhook({ url: "https://hooks.example.com/a", events: ["job.failed"] });
    expect((await api(`/webhooks/${hook.id}/deliveries?limit=0`)).status).toBe(400);
    expect((await api(`/webhooks/${hook.id}/deliveries?status=lost`)).status).toBe(400);
    expect((await api(`/webhooks/whk_missing/deliveries`)).status).toBe(404);
    expect((await api(`/webhooks/${hook.id}/deliveries`)).json).toEqual({ deliveries: [], totalCount: 0, hasMore: false });
  });

  it("is documented in the OpenAPI document", async () => {
    const doc = (await api("/openapi.json", { token: null })).json;
    expect(Object.keys(doc.paths["/api/tickerq/webhooks"])).toEqual(["post", "get"]);
    expect(doc.paths["/api/tickerq/webhooks"].post.requestBody.content["application/json"].schema.required).toEqual(["url", "events"]);
    expect(doc.paths["/api/tickerq/webhooks/deliveries/{deliveryId}/redeliver"].post.security).toEqual([{ bearer: ["tickerq:admin"] }]);
  });

  it("changes the secret only through rotation", async () => {
    const hook = await createWebhook({ url: "https://hooks.example.com/a", events: ["job.failed"] });
    const res = await api(`/webhooks/${hook.id}`, { method: "PATCH", body: { secret: "another-secret-123456" } });
    expect(res.status).toBe(400);
    expect(res.json.details).toEqual([{ path: "secret", message: "is changed with POST /webhooks/{id}/rotate-secret" }]);
    expect((await api(`/webhooks/${hook.id}/rotate-secret`, { body: { overlap: "8.00:00:00" } })).status).toBe(400);
    expect((await api(`/webhooks/whk_missing/rotate-secret`, { method: "POST" })).status).toBe(404);
  });

  it("drops finished deliveries and their attempts after the retention period", async () => {
    const hook = await createWebhook({ url: `${targetUrl()}/record/${tag()}`, events: ["job.failed"] });
    const old = (await ping(hook.id)).delivery;
    const recent = (await ping(hook.id)).delivery;
    await env.DB.prepare("UPDATE webhook_deliveries SET completed_at = ? WHERE id = ?").bind(Date.now() - DELIVERY_RETENTION_MS - 1000, old.id).run();
    expect(await purgeFinishedDeliveries(env, Date.now())).toBeGreaterThanOrEqual(1);
    expect((await api(`/webhooks/${hook.id}/deliveries`)).json.deliveries.map((d: any) => d.id)).toEqual([recent.id]);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_attempts WHERE delivery_id = ?").bind(old.id).first<{ n: number }>())!.n).toBe(0);
  });
});
