import { afterAll, describe, expect, it } from "vitest";
import { removeState, startDevServer, type DevServer } from "./dev-server";
import { waitFor } from "./client";

/** Calls one particular dev server (this test runs its own, so it can restart it). */
async function callOn(server: DevServer, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.url}/api/tickerq${path}`, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    headers: { authorization: `Bearer ${server.token}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe("queue pause across a restart", () => {
  const servers: DevServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    if (servers[0]) removeState(servers[0].persistDir);
  });

  it("a paused queue stays paused when the Worker and its Durable Objects restart, and runs its due job after resume", async () => {
    const token = `e2e-${crypto.randomUUID()}`;
    const first = await startDevServer({ token });
    servers.push(first);
    const queue = "restart-paused";
    expect((await callOn(first, `/queues/${queue}`, { method: "PATCH", body: { workers: 2 } })).status).toBe(200);
    expect((await callOn(first, `/queues/${queue}/pause`, { method: "POST" })).json.status).toBe("paused");
    const job = await callOn(first, "/jobs", { body: { type: "echo", queue, parameters: { message: "held" } } });
    expect(job.status).toBe(201);
    await first.stop();

    const second = await startDevServer({ token, persistDir: first.persistDir });
    servers.push(second);
    const queueAfter = await callOn(second, `/queues/${queue}`);
    expect(queueAfter.json).toMatchObject({ status: "paused", pendingJobs: 1, settings: { workers: 2 } });
    // Well past the job's run_at, with the restarted scheduler awake: still not started.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await callOn(second, `/jobs/${job.json.id}`)).json).toMatchObject({ status: "pending", attempts: 0 });

    expect((await callOn(second, `/queues/${queue}/resume`, { method: "POST" })).json.status).toBe("running");
    const done = await waitFor(async () => {
      const r = await callOn(second, `/jobs/${job.json.id}`);
      return r.json.status === "completed" ? r.json : null;
    });
    expect(done.result).toEqual({ echo: "held", attempt: 1 });
  });
});
