import { describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM helper shared with the Workers-pool tests
import { verifyWebhook } from "../support/target-server.mjs";
import { call, targetUrl, waitFor } from "./client";

describe("webhooks on a real wrangler dev", () => {
  it("delivers a job's events through the webhooks Queue, signed, retried after a failure, and logged", async () => {
    const queue = `e2e-wh-${crypto.randomUUID().slice(0, 8)}`;
    const tag = `e2e-${crypto.randomUUID().slice(0, 8)}`;
    const hook = await call("/webhooks", {
      body: {
        url: `${targetUrl()}/flaky/${tag}?fail=1`,
        events: ["job.started", "job.completed"],
        filters: { queues: [queue] },
        retryPolicy: { maxRetries: 2, retryDelay: "00:00:01" },
      },
    });
    expect(hook.status).toBe(201);
    const job = await call("/jobs", { body: { type: "echo", queue, parameters: { message: "hook" } } });
    expect(job.status).toBe(201);

    const log = await waitFor(async () => {
      const r = await call(`/webhooks/${hook.json.id}/deliveries`);
      return r.json.deliveries.length === 2 && r.json.deliveries.every((d: any) => d.status === "succeeded") ? r.json.deliveries : null;
    }, 60_000);
    expect(log.map((d: any) => d.event).sort()).toEqual(["job.completed", "job.started"]);
    expect(log.reduce((n: number, d: any) => n + d.attempts, 0)).toBe(3);

    const { calls } = await (await fetch(`${targetUrl()}/calls/${tag}`)).json();
    expect(calls).toHaveLength(3);
    for (const c of calls) expect(verifyWebhook(c.body, c.headers, hook.json.secret)).toEqual({ seed: true, standard: true });
    expect(JSON.parse(calls[calls.length - 1].body)).toMatchObject({ data: { jobId: job.json.id } });
    expect((await call(`/webhooks/${hook.json.id}`, { method: "DELETE" })).status).toBe(204);
  });
});
