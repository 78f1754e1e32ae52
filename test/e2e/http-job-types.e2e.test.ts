import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM example, run as is by users
import { startEmailService } from "../../examples/http-service/server.mjs";
import { baseUrl, call, waitFor } from "./client";

describe("a job type served by your own HTTP service, on a real wrangler dev", () => {
  const name = `EmailNotificationJob-${crypto.randomUUID().slice(0, 8)}`;
  let service: { port: number; close(): Promise<void> } | undefined;
  afterAll(async () => {
    await service?.close();
    await call(`/job-types/${name}`, { method: "DELETE" });
  });

  it("runs the seed's EmailNotificationJob in the example service: at once, and through callbacks over real HTTP", async () => {
    // The URL is known before the service starts; the service needs the secret the registration returns.
    const { freePort } = await import("./dev-server");
    const port = await freePort();
    const registered = await call("/job-types", {
      body: {
        name,
        url: `http://127.0.0.1:${port}/jobs`,
        parameters: {
          type: "object",
          required: ["recipientEmail", "templateId"],
          properties: { recipientEmail: { type: "string", format: "email" }, templateId: { type: "string" } },
        },
        timeoutSeconds: 10,
        callbackTimeoutSeconds: 60,
      },
    });
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);
    service = await startEmailService({ port, secret: registered.json.secret, edgeTickerUrl: baseUrl(), bulkStepMs: 200 });

    const welcome = await call("/jobs", {
      body: { type: name, name: "Welcome Email", parameters: { recipientEmail: "newuser@example.com", templateId: "welcome-email" }, priority: "normal", delay: "00:00:00", maxRetries: 3, cronExpression: null },
    });
    expect(welcome.status, JSON.stringify(welcome.json)).toBe(201);
    const newsletter = await call("/jobs", { body: { type: name, name: "Newsletter", parameters: { recipientEmail: "all@example.com", templateId: "newsletter" } } });
    expect(newsletter.status).toBe(201);
    const invalid = await call("/jobs", { body: { type: name, parameters: { templateId: "welcome-email" } } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.details[0].path).toBe("parameters.recipientEmail");

    const done = async (id: string) =>
      waitFor(async () => {
        const r = await call(`/jobs/${id}`);
        return ["completed", "failed", "cancelled"].includes(r.json.status) ? r.json : null;
      }, 60_000);
    const [a, b] = await Promise.all([done(welcome.json.id), done(newsletter.json.id)]);
    expect(a).toMatchObject({ status: "completed", result: { messageId: `msg-${a.id}`, deliveryStatus: "delivered", recipientEmail: "newuser@example.com" } });
    expect(b).toMatchObject({ status: "completed", result: { messageId: `bulk-${b.id}`, deliveryStatus: "delivered" }, progress: { percent: 75 } });
    const logs = await call(`/jobs/${b.id}/logs`);
    expect(JSON.stringify(logs.json)).toContain("newsletter sent to all@example.com");

    // Cancel while the service works on it: the attempt ends at once and the service stops.
    const slow = await call("/jobs", { body: { type: name, parameters: { recipientEmail: "slow@example.com", templateId: "newsletter" } } });
    await waitFor(async () => ((await call(`/jobs/${slow.json.id}`)).json.progress?.percent >= 25 ? true : null), 30_000);
    const cancel = await call(`/jobs/${slow.json.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    expect(cancel.json.status).toBe("cancelled");
    // The service's later callbacks are refused, so the job stays cancelled.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call(`/jobs/${slow.json.id}`)).json.status).toBe("cancelled");
  });
});
