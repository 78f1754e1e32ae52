import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { deliveryStatement } from "../src/webhooks/sink";
import { resendStuckDeliveries } from "../src/webhooks/reconcile";
import { makeEvent } from "../src/events/types";
import { api, targetCalls, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";

const created: string[] = [];
afterAll(async () => {
  for (const id of created) await api(`/webhooks/${id}`, { method: "DELETE" });
});

async function createWebhook(body: Record<string, unknown>) {
  const res = await api("/webhooks", { body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  created.push(res.json.id);
  return res.json;
}

const tag = () => `wh-${crypto.randomUUID().slice(0, 8)}`;
const setReceiverSecret = (t: string, secret: string) => fetch(`${targetUrl()}/secret/${t}`, { method: "PUT", body: secret });

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
    expect((await tampered.json()).verified).toEqual({ seed: false, standard: false });

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
});
