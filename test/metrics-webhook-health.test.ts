import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { webhookHealth } from "../src/metrics/webhook-health";
import { api, targetUrl } from "./helpers";

describe("webhook health in the metrics", () => {
  it("names failing and disabled endpoints and counts deliveries per outcome", async () => {
    // A Slack-like URL whose path is the credential.
    const url = `${targetUrl()}/record/health/T000/B000/XXXXSECRETXXXX`;
    const created = await api("/webhooks", { body: { url, events: ["job.completed"] } });
    expect(created.status).toBe(201);
    const id = created.json.id;
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 4, succeeded_deliveries = 7, failed_deliveries = 5 WHERE id = ?").bind(id).run();
    const health = await webhookHealth(env);
    expect(health.available).toBe(true);
    expect(health.failingEndpoints).toContainEqual({ id, host: new URL(url).host, consecutiveFailures: 4, disabled: false });
    expect(health.deliveries).toEqual(expect.arrayContaining([
      { endpoint: id, outcome: "succeeded", count: 7 },
      { endpoint: id, outcome: "failed", count: 5 },
    ]));
    const reader = (await api("/keys", { body: { name: "metrics reader", scopes: ["tickerq:read"] } })).json;
    const system = await api("/metrics/system", { token: reader.key });
    expect(system.status).toBe(200);
    expect(system.json.checks.webhooks.status).not.toBe("healthy");
    expect(system.json.checks.webhooks.reason).toContain(`${id} (${new URL(url).host})`);
    expect(JSON.stringify(system.json)).not.toContain("XXXXSECRETXXXX");
    const prometheus = await exports.default.fetch(new Request("http://edge-ticker.test/metrics", { headers: { authorization: `Bearer ${reader.key}` } }));
    expect(prometheus.status).toBe(200);
    const exposition = await prometheus.text();
    expect(exposition).toContain(`endpoint="${id}"`);
    expect(exposition).not.toContain("XXXXSECRETXXXX");
    await api(`/webhooks/${id}`, { method: "DELETE" });
  });
});
