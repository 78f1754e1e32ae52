import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { webhookHealth } from "../src/metrics/webhook-health";
import { api, targetUrl } from "./helpers";

describe("webhook health in the metrics", () => {
  it("names failing and disabled endpoints and counts deliveries per outcome", async () => {
    const created = await api("/webhooks", { body: { url: `${targetUrl()}/record/health`, events: ["job.completed"] } });
    expect(created.status).toBe(201);
    const id = created.json.id;
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 4, succeeded_deliveries = 7, failed_deliveries = 5 WHERE id = ?").bind(id).run();
    const health = await webhookHealth(env);
    expect(health.available).toBe(true);
    expect(health.failingEndpoints).toContainEqual({ id, url: `${targetUrl()}/record/health`, consecutiveFailures: 4, disabled: false });
    expect(health.deliveries).toEqual(expect.arrayContaining([
      { endpoint: id, outcome: "succeeded", count: 7 },
      { endpoint: id, outcome: "failed", count: 5 },
    ]));
    const system = await api("/metrics/system");
    expect(system.json.checks.webhooks.status).not.toBe("healthy");
    await api(`/webhooks/${id}`, { method: "DELETE" });
  });
});
