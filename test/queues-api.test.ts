import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { flushQueues } from "./flush-helpers";
import { api, uniqueQueue, waitFor, waitForStatus } from "./helpers";

const echo = (queue: string, extra: Record<string, unknown> = {}) => ({ type: "echo", queue, parameters: { message: "x" }, ...extra });

async function failedJobs(queue: string, n: number, maxRetries = 0) {
  const created = await api("/jobs/batch", { body: { jobs: Array.from({ length: n }, () => echo(queue, { parameters: { fail: true, logLines: 2 }, maxRetries })) } });
  expect(created.status).toBe(201);
  for (const j of created.json.jobs) await waitForStatus(j.id, ["failed"]);
  return created.json.jobs.map((j: any) => j.id as string);
}

describe("GET /queues", () => {
  it("lists a queue as soon as a job names it, in the seed's shape", async () => {
    const queue = uniqueQueue();
    const done = await api("/jobs", { body: echo(queue) });
    await waitForStatus(done.json.id, ["completed"]);
    await failedJobs(queue, 1);
    const res = await api("/queues");
    expect(res.status).toBe(200);
    const q = res.json.queues.find((x: any) => x.name === queue);
    expect(q).toEqual({
      name: queue,
      status: "running",
      pendingJobs: 0,
      runningJobs: 0,
      completedJobs: 1,
      failedJobs: 1,
      workers: 10,
      throughput: { jobsPerMinute: 0.03, jobsPerHour: 2 },
    });
    const names = res.json.queues.map((x: any) => x.name);
    expect(names).toEqual([...names].sort());
  });

  it("shows one queue with its settings, and 404s an unknown one", async () => {
    const queue = uniqueQueue();
    await api("/jobs", { body: echo(queue, { delay: "01:00:00" }) });
    const res = await api(`/queues/${queue}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: queue,
      status: "running",
      pendingJobs: 1,
      workers: 10,
      settings: { workers: 10, rateLimit: null, defaults: { maxRetries: null, timeoutSeconds: null } },
    });
    const missing = await api(`/queues/${uniqueQueue()}`);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe("not_found");
  });
});

describe("PATCH /queues/{name}", () => {
  it("creates a queue before its first job and applies its defaults to new jobs", async () => {
    const queue = uniqueQueue();
    const res = await api(`/queues/${queue}`, {
      method: "PATCH",
      body: { workers: 50, rateLimit: { limit: 20, intervalSeconds: 1.5 }, defaults: { maxRetries: 7, timeoutSeconds: 120 } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: queue,
      status: "running",
      pendingJobs: 0,
      workers: 50,
      settings: { workers: 50, rateLimit: { limit: 20, intervalSeconds: 1.5 }, defaults: { maxRetries: 7, timeoutSeconds: 120 } },
    });
    const listed = (await api("/queues")).json.queues.find((q: any) => q.name === queue);
    expect(listed).toMatchObject({ workers: 50, status: "running" });
    expect((await schedulerFor(env, queue).status()).workers).toBe(50);

    const byDefault = await api("/jobs", { body: echo(queue, { delay: "01:00:00" }) });
    expect(byDefault.json.maxRetries).toBe(7);
    expect((await api(`/jobs/${byDefault.json.id}`)).json.timeoutSeconds).toBe(120);
    const explicit = await api("/jobs", { body: echo(queue, { delay: "01:00:00", maxRetries: 1, timeoutSeconds: 5 }) });
    expect(explicit.json.maxRetries).toBe(1);
    expect((await api(`/jobs/${explicit.json.id}`)).json.timeoutSeconds).toBe(5);

    const cleared = await api(`/queues/${queue}`, { method: "PATCH", body: { rateLimit: null, defaults: { maxRetries: null } } });
    expect(cleared.json.settings).toEqual({ workers: 50, rateLimit: null, defaults: { maxRetries: null, timeoutSeconds: 120 } });
    const fallback = await api("/jobs", { body: echo(queue, { delay: "01:00:00" }) });
    expect(fallback.json.maxRetries).toBe(3);
  });

  it("refuses bad settings with a 400 and stores nothing", async () => {
    const queue = uniqueQueue();
    const bad = [
      [{ workers: -1 }, "workers"],
      [{ workers: 0 }, "workers"],
      [{ workers: 2.5 }, "workers"],
      [{ rateLimit: { limit: 5, intervalSeconds: 0 } }, "rateLimit.intervalSeconds"],
      [{ rateLimit: { limit: 0, intervalSeconds: 1 } }, "rateLimit.limit"],
      [{ rateLimit: { limit: 5 } }, "rateLimit.intervalSeconds"],
      [{ defaults: { maxRetries: -1 } }, "defaults.maxRetries"],
      [{ concurrency: 3 }, ""],
    ] as const;
    for (const [body, path] of bad) {
      const res = await api(`/queues/${queue}`, { method: "PATCH", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toBe("validation_error");
      expect(res.json.details[0].path).toBe(path);
    }
    expect((await api(`/queues/${queue}`, { method: "PATCH", rawBody: "{", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await api(`/queues/bad%20name`, { method: "PATCH", body: { workers: 2 } })).json).toMatchObject({ error: "validation_error", details: [{ path: "name" }] });
    expect((await api(`/queues/${queue}`)).status).toBe(404);
    expect((await api("/queues")).json.queues.some((q: any) => q.name === queue)).toBe(false);
  });
});

describe("pause, resume and clear: inputs and scopes", () => {
  it("answers 400 unknown_queue for a queue nobody named, and changes nothing", async () => {
    const queue = uniqueQueue();
    for (const action of ["pause", "resume", "clear"]) {
      const res = await api(`/queues/${queue}/${action}`, { method: "POST" });
      expect(res.status, action).toBe(400);
      expect(res.json.error).toBe("unknown_queue");
      expect(res.json.message).toContain(queue);
    }
    expect((await api(`/queues/${queue}`)).status).toBe(404);
    expect((await schedulerFor(env, queue).status()).paused).toBe(false);
  });

  it("needs the queue-admin scope to change a queue and the read scope to see one", async () => {
    const queue = uniqueQueue();
    await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 2 } });
    const reader = (await api("/keys", { body: { name: "reader", scopes: ["tickerq:read"] } })).json.key;
    const writer = (await api("/keys", { body: { name: "writer", scopes: ["tickerq:write"] } })).json.key;
    expect((await api(`/queues/${queue}`, { token: reader })).status).toBe(200);
    expect((await api("/queues", { token: writer })).status).toBe(403);
    for (const action of ["pause", "resume", "clear"]) expect((await api(`/queues/${queue}/${action}`, { method: "POST", token: reader })).status).toBe(403);
    expect((await api(`/queues/${queue}`, { method: "PATCH", token: reader, body: { workers: 3 } })).status).toBe(403);
    // tickerq:write acts on jobs; settings, pause/resume and clear act on the whole queue.
    for (const action of ["pause", "resume", "clear"]) expect((await api(`/queues/${queue}/${action}`, { method: "POST", token: writer })).json.error).toBe("forbidden");
    expect((await api(`/queues/${queue}`, { method: "PATCH", token: writer, body: { workers: 3 } })).status).toBe(403);
    expect((await api(`/queues/${queue}/pause`, { method: "POST", token: null })).status).toBe(401);
    expect((await api(`/queues/${queue}`)).json).toMatchObject({ status: "running", workers: 2 });
  });

  it("pause and resume are idempotent and show in the listing", async () => {
    const queue = uniqueQueue();
    await api(`/queues/${queue}`, { method: "PATCH", body: {} });
    expect((await api(`/queues/${queue}/pause`, { method: "POST" })).json.status).toBe("paused");
    expect((await api(`/queues/${queue}/pause`, { method: "POST" })).json.status).toBe("paused");
    expect((await api("/queues")).json.queues.find((q: any) => q.name === queue).status).toBe("paused");
    expect((await api(`/queues/${queue}/resume`, { method: "POST" })).json.status).toBe("running");
    expect((await api("/queues")).json.queues.find((q: any) => q.name === queue).status).toBe("running");
  });

  it("refuses a clear that selects nothing or has unknown fields", async () => {
    const queue = uniqueQueue();
    await api(`/queues/${queue}`, { method: "PATCH", body: {} });
    const none = await api(`/queues/${queue}/clear`, { body: { clearPending: false, clearFailed: false } });
    expect(none.status).toBe(400);
    expect(none.json.error).toBe("validation_error");
    expect((await api(`/queues/${queue}/clear`, { body: { clearPending: "yes" } })).status).toBe(400);
    expect((await api(`/queues/${queue}/clear`, { body: { clearRunning: true } })).status).toBe(400);
  });
});

describe("POST /queues/{name}/clear", () => {
  it("deletes exactly the selected jobs with their attempts and logs, and answers how many went", async () => {
    const queue = uniqueQueue();
    const failed = await failedJobs(queue, 3, 1);
    const done = await api("/jobs", { body: echo(queue) });
    await waitForStatus(done.json.id, ["completed"]);
    await api(`/queues/${queue}/pause`, { method: "POST" });
    const pending = await api("/jobs/batch", { body: { jobs: [...Array.from({ length: 5 }, () => echo(queue)), echo(queue, { delay: "00:10:00" }), echo(queue, { priority: "high" })] } });
    expect(pending.status).toBe(201);
    expect((await schedulerFor(env, queue).status()).due).toBe(7);

    const first = await api(`/queues/${queue}/clear`, { body: { clearPending: true, clearFailed: false } });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ queue, clearedPending: 7, clearedFailed: 0, hasMore: false });
    expect((await schedulerFor(env, queue).status()).due).toBe(0);
    expect((await api(`/jobs/${pending.json.jobs[0].id}`)).status).toBe(404);
    expect((await api(`/queues/${queue}`)).json).toMatchObject({ pendingJobs: 0, failedJobs: 3, completedJobs: 1 });

    // Archived with two attempts each, so they have attempt rows and packed log lines to go with them.
    await flushQueues(queue);
    const left = () =>
      env.DB.prepare(
        `SELECT (SELECT COUNT(*) FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(?1))) AS attempts,
                (SELECT COUNT(*) FROM job_logs WHERE job_id IN (SELECT value FROM json_each(?1))) +
                (SELECT COUNT(*) FROM job_log_pages WHERE job_id IN (SELECT value FROM json_each(?1))) AS logs`,
      )
        .bind(JSON.stringify(failed))
        .first<{ attempts: number; logs: number }>();
    expect(await left()).toEqual({ attempts: 6, logs: 6 });

    const again = await api(`/queues/${queue}/clear`, { body: { clearPending: true, clearFailed: true } });
    expect(again.json).toEqual({ queue, clearedPending: 0, clearedFailed: 3, hasMore: false });
    for (const id of failed) expect((await api(`/jobs/${id}`)).status).toBe(404);
    expect(await left()).toEqual({ attempts: 0, logs: 0 });
    expect((await api(`/jobs/${done.json.id}`)).json.status).toBe("completed");
    expect((await api(`/queues/${queue}`)).json).toMatchObject({ status: "paused", pendingJobs: 0, failedJobs: 0, completedJobs: 1 });
  });

  it("clears a backlog larger than one transaction", async () => {
    const queue = uniqueQueue();
    await api(`/queues/${queue}`, { method: "PATCH", body: {} });
    await api(`/queues/${queue}/pause`, { method: "POST" });
    for (let i = 0; i < 2; i++) {
      expect((await api("/jobs/batch", { body: { jobs: Array.from({ length: 600 }, () => echo(queue)) } })).status).toBe(201);
    }
    const res = await api(`/queues/${queue}/clear`, { method: "POST" });
    expect(res.json).toEqual({ queue, clearedPending: 1200, clearedFailed: 0, hasMore: false });
    expect((await schedulerFor(env, queue).status()).due).toBe(0);
    await waitFor(async () => (await api(`/queues/${queue}`)).json.pendingJobs === 0);
  });
});

describe("OpenAPI", () => {
  it("documents the queue routes with their request schemas", async () => {
    const doc = (await api("/openapi.json", { token: null })).json;
    const base = "/api/tickerq";
    expect(Object.keys(doc.paths[`${base}/queues/{name}`]).sort()).toEqual(["get", "patch"]);
    expect(doc.paths[`${base}/queues/{name}`].patch.requestBody.content["application/json"].schema.properties).toHaveProperty("rateLimit");
    for (const action of ["pause", "resume", "clear"]) expect(doc.paths[`${base}/queues/{name}/${action}`].post.security).toEqual([{ bearer: ["tickerq:queue-admin"] }]);
    expect(doc.paths[`${base}/queues/{name}`].patch.security).toEqual([{ bearer: ["tickerq:queue-admin"] }]);
    expect(doc.paths[`${base}/queues`].get.security).toEqual([{ bearer: ["tickerq:read"] }]);
  });
});
