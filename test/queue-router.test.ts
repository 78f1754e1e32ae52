import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { makeEvent } from "../src/model/events";
import { deliveryStatement } from "../src/webhooks/sink";
import { api, targetCalls, targetUrl, uniqueQueue } from "./helpers";
import { createMessageBatch } from "cloudflare:test";
import { routeBatch } from "../src/queue-router";
import { deliverBatch, dueButHeldJob, execMessage } from "./queue-helpers";
import { webhookFactory } from "./webhook-helpers";

const createWebhook = webhookFactory();


describe("queue message routing", () => {
  it("delivers a webhook message whatever the queue is called", async () => {
    const queue = uniqueQueue("route");
    const t = `route-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await createWebhook({ url: `${targetUrl()}/record/${t}`, events: ["queue.paused"], filters: { queues: [queue] } });
    await deliveryStatement(env, { event: makeEvent("queue.paused", { queue, status: "paused" }), guard: { sql: "1", params: [] } }, Date.now()).run();
    const { results } = await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE endpoint_id = ?").bind(hook.id).all<{ id: string }>();
    const result = await deliverBatch([{ deliveryId: results[0].id }], { queueName: "acme-renamed-webhooks" });
    expect(result.explicitAcks).toHaveLength(1);
    const { deliveries } = (await api(`/webhooks/${hook.id}/deliveries`)).json;
    expect(deliveries[0]).toMatchObject({ status: "succeeded", attempts: 1 });
    expect((await targetCalls(t)).calls).toHaveLength(1);
  });

  it("runs an exec message whatever the queue is called", async () => {
    const queue = uniqueQueue("route");
    const id = await dueButHeldJob(queue, { message: "routed" });
    await deliverBatch([execMessage(queue, [[id, 0]])], { queueName: "edge-ticker-webhooks" });
    expect((await api(`/jobs/${id}`)).json.status).toBe("completed");
  });

  it("tells both exec bodies (many jobs, and one job as sent before) from webhook and unknown messages", () => {
    const bodies = [execMessage("q", [["job_a", 0], ["job_b", 2]]), { jobId: "job_c", attempt: 0, queue: "q" }, { deliveryId: "d1" }, { queue: "q", token: "t", jobs: [] }, { jobId: "job_d" }];
    const batch = createMessageBatch("any", bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
    const routed = routeBatch(batch);
    expect(routed.exec?.messages.map((m) => m.id)).toEqual(["m0", "m1"]);
    expect(routed.webhook?.messages.map((m) => m.id)).toEqual(["m2"]);
    expect(routed.unrecognised.map((m) => m.id)).toEqual(["m3", "m4"]);
  });

  it("logs an unrecognised message and sends it back (towards the dead-letter queue) instead of acknowledging it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const result = await deliverBatch([{ hello: "world" }, "not an object"], { queueName: "edge-ticker-exec" });
      expect(result.explicitAcks).toHaveLength(0);
      expect(result.retryMessages).toHaveLength(2);
      const logged = errors.mock.calls.map((c) => c.join(" "));
      expect(logged.filter((l) => l.includes("unrecognised message") && l.includes("edge-ticker-exec"))).toHaveLength(2);
      expect(logged.some((l) => l.includes('{"hello":"world"}'))).toBe(true);
    } finally {
      errors.mockRestore();
    }
  });
});
