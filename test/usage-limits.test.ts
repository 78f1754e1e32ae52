import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readSettings } from "../src/config";
import { queuesInUse } from "../src/db/queues";
import worker from "../src/index";
import { ADMIN, api, BASE, uniqueQueue } from "./helpers";
import { requestJson, type CallInit } from "./support/client-core";

/** Calls the Worker with some vars changed, as a deployment configured that way would answer. */
function apiWith(vars: Record<string, string>) {
  return (path: string, init: CallInit = {}) =>
    requestJson(
      async (req) => {
        const ctx = createExecutionContext();
        const res = await worker.fetch!(req as Request<unknown, IncomingRequestCfProperties>, { ...env, ...vars } as Env, ctx);
        await waitOnExecutionContext(ctx);
        return res;
      },
      `${BASE}${path}`,
      ADMIN,
      init,
    );
}

async function createKey(scopes: string[]): Promise<string> {
  const res = await api("/keys", { body: { name: `key ${scopes.join("+")}`, scopes } });
  expect(res.status).toBe(201);
  return res.json.key;
}

const count = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
const recurring = (cronExpression: string, extra: Record<string, unknown> = {}) => ({ type: "echo", cronExpression, enabled: false, ...extra });

describe("settings", () => {
  it("reads the limits with safe fallbacks for missing or invalid values", () => {
    expect(readSettings({}).limits).toEqual({ minCronIntervalMs: 60_000, maxRecurringJobs: 1000, maxQueues: 100, maxTotalWorkers: 500, maxEndpoints: 1000 });
    expect(readSettings({}).devJobTypes).toBe(false);
    const bad = readSettings({ MIN_CRON_INTERVAL_SECONDS: "-1", MAX_RECURRING_JOBS: "0", MAX_QUEUES: "many", MAX_TOTAL_WORKERS: "1.5", DEV_JOB_TYPES: "yes" });
    expect(bad.limits).toEqual({ minCronIntervalMs: 60_000, maxRecurringJobs: 1000, maxQueues: 100, maxTotalWorkers: 500, maxEndpoints: 1000 });
    expect(bad.devJobTypes).toBe(false);
    expect(readSettings({ MIN_CRON_INTERVAL_SECONDS: "0", MAX_QUEUES: "7", DEV_JOB_TYPES: "true" })).toMatchObject({ devJobTypes: true, limits: { minCronIntervalMs: 0, maxQueues: 7 } });
  });
});

describe("queue-admin scope", () => {
  it("is needed to configure, pause, resume or clear a queue; admin implies it", async () => {
    const queue = uniqueQueue();
    expect((await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 2 } })).status).toBe(200);
    const writer = await createKey(["tickerq:read", "tickerq:write"]);
    const queueAdmin = await createKey(["tickerq:queue-admin"]);
    for (const action of ["pause", "resume", "clear"]) {
      const res = await api(`/queues/${queue}/${action}`, { method: "POST", token: writer });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ error: "forbidden", message: expect.stringContaining("tickerq:queue-admin") });
    }
    expect((await api(`/queues/${queue}`, { method: "PATCH", token: writer, body: { workers: 9 } })).status).toBe(403);
    expect((await api(`/queues/${queue}`)).json).toMatchObject({ status: "running", workers: 2 });

    expect((await api(`/queues/${queue}/pause`, { method: "POST", token: queueAdmin })).json.status).toBe("paused");
    expect((await api(`/queues/${queue}/resume`, { method: "POST", token: queueAdmin })).json.status).toBe("running");
    expect((await api(`/queues/${queue}`, { method: "PATCH", token: queueAdmin, body: { workers: 3 } })).json.workers).toBe(3);
    expect((await api(`/queues/${queue}/clear`, { method: "POST", token: queueAdmin })).status).toBe(200);
    // It governs queues only: no jobs, no listing.
    expect((await api("/jobs", { token: queueAdmin, body: { type: "echo", queue } })).status).toBe(403);
    expect((await api("/queues", { token: queueAdmin })).status).toBe(403);
  });

  it("can be given with every other scope in one key", async () => {
    const res = await api("/keys", { body: { name: "all", scopes: ["tickerq:read", "tickerq:write", "tickerq:queue-admin", "tickerq:admin"] } });
    expect(res.status).toBe(201);
    expect(res.json.scopes).toEqual(["tickerq:read", "tickerq:write", "tickerq:queue-admin", "tickerq:admin"]);
  });
});

describe("minimum cron interval for non-admin keys", () => {
  it("refuses expressions that fire closer than MIN_CRON_INTERVAL_SECONDS, on every route that takes one", async () => {
    const writer = await createKey(["tickerq:read", "tickerq:write"]);
    const before = await count("recurring_jobs");
    for (const cron of ["* * * * * *", "*/30 * * * * *", "0,10 * * * * *", "0,59 * * * * *"]) {
      for (const path of ["/jobs/recurring", "/jobs"]) {
        const res = await api(path, { token: writer, body: recurring(cron) });
        expect(res.status, `${path} ${cron}`).toBe(400);
        expect(res.json).toMatchObject({ error: "validation_error", details: [{ path: "cronExpression", message: expect.stringContaining("at least 60 s") }] });
      }
    }
    expect(await count("recurring_jobs")).toBe(before);

    const ok = await api("/jobs/recurring", { token: writer, body: recurring("* * * * *") });
    expect(ok.status).toBe(201);
    const patched = await api(`/jobs/recurring/${ok.json.id}`, { method: "PATCH", token: writer, body: { cronExpression: "*/5 * * * * *" } });
    expect(patched.status).toBe(400);
    expect(patched.json.details[0].path).toBe("cronExpression");
    expect((await api(`/jobs/recurring/${ok.json.id}`)).json.cronExpression).toBe("* * * * *");
  });

  it("does not bind admin keys, and 0 turns it off", async () => {
    const admin = await api("/jobs/recurring", { body: recurring("* * * * * *") });
    expect(admin.status).toBe(201);
    const writer = await createKey(["tickerq:write"]);
    expect((await apiWith({ MIN_CRON_INTERVAL_SECONDS: "0" })("/jobs/recurring", { token: writer, body: recurring("* * * * * *") })).status).toBe(201);
    const hourly = apiWith({ MIN_CRON_INTERVAL_SECONDS: "3600" });
    expect((await hourly("/jobs/recurring", { token: writer, body: recurring("*/30 * * * *") })).status).toBe(400);
    expect((await hourly("/jobs/recurring", { token: writer, body: recurring("@hourly") })).status).toBe(201);
  });
});

describe("recurring job limit", () => {
  it("refuses a recurring job past MAX_RECURRING_JOBS for non-admin keys with 409", async () => {
    const writer = await createKey(["tickerq:write"]);
    const n = await count("recurring_jobs");
    const limited = apiWith({ MAX_RECURRING_JOBS: String(n + 1) });
    expect((await limited("/jobs/recurring", { token: writer, body: recurring("@daily") })).status).toBe(201);
    for (const path of ["/jobs/recurring", "/jobs"]) {
      const res = await limited(path, { token: writer, body: recurring("@daily") });
      expect(res.status).toBe(409);
      expect(res.json).toMatchObject({ error: "recurring_job_limit", message: expect.stringContaining(`at most ${n + 1}`) });
    }
    expect(await count("recurring_jobs")).toBe(n + 1);
    expect((await limited("/jobs/recurring", { body: recurring("@daily") })).status).toBe(201);
  });
});

describe("queue limit", () => {
  it("refuses to create a queue past MAX_QUEUES for non-admin keys, by any route that names one", async () => {
    const writer = await createKey(["tickerq:write"]);
    const queueAdmin = await createKey(["tickerq:queue-admin"]);
    const inUse = (await queuesInUse(env)).length;
    const limited = apiWith({ MAX_QUEUES: String(inUse + 1) });
    const [a, b] = [uniqueQueue("cap"), uniqueQueue("cap")];
    expect((await limited("/jobs", { token: writer, body: { type: "echo", queue: a } })).status).toBe(201);
    expect((await limited("/jobs", { token: writer, body: { type: "echo", queue: a } })).status).toBe(201);
    const jobs = await count("jobs");
    const refused = [
      await limited("/jobs", { token: writer, body: { type: "echo", queue: b } }),
      await limited("/jobs/batch", { token: writer, body: { jobs: [{ type: "echo", queue: a }, { type: "echo", queue: b }] } }),
      await limited("/jobs/recurring", { token: writer, body: recurring("@daily", { queue: b }) }),
      await limited(`/queues/${b}`, { method: "PATCH", token: queueAdmin, body: { workers: 1 } }),
    ];
    for (const res of refused) expect(res.json).toMatchObject({ error: "queue_limit", message: expect.stringContaining(`"${b}"`) });
    expect(refused.map((r) => r.status)).toEqual([409, 409, 409, 409]);
    expect(await count("jobs")).toBe(jobs);
    expect((await api(`/queues/${b}`)).status).toBe(404);

    const def = await limited("/jobs/recurring", { token: writer, body: recurring("@daily", { queue: a }) });
    expect(def.status).toBe(201);
    expect((await limited(`/jobs/recurring/${def.json.id}`, { method: "PATCH", token: writer, body: { queue: b } })).status).toBe(409);
    expect((await limited("/jobs", { body: { type: "echo", queue: b } })).status).toBe(201);
  });
});

describe("total workers limit", () => {
  it("refuses raising a queue's workers past MAX_TOTAL_WORKERS over all queues; lowering is allowed", async () => {
    const queue = uniqueQueue("workers");
    expect((await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 2 } })).status).toBe(200);
    const total = (await queuesInUse(env)).reduce((sum, q) => sum + (q.workers ?? 10), 0);
    const limited = apiWith({ MAX_TOTAL_WORKERS: String(total + 3) });
    const queueAdmin = await createKey(["tickerq:queue-admin", "tickerq:read"]);
    for (const workers of [6, 1000]) {
      const res = await limited(`/queues/${queue}`, { method: "PATCH", token: queueAdmin, body: { workers } });
      expect(res.status).toBe(409);
      expect(res.json).toMatchObject({ error: "worker_limit", message: expect.stringContaining("at most 5") });
    }
    expect((await api(`/queues/${queue}`)).json.workers).toBe(2);
    expect((await limited(`/queues/${queue}`, { method: "PATCH", token: queueAdmin, body: { workers: 5 } })).json.workers).toBe(5);
    expect((await limited(`/queues/${queue}`, { method: "PATCH", token: queueAdmin, body: { workers: 1 } })).json.workers).toBe(1);
    expect((await limited(`/queues/${queue}`, { method: "PATCH", body: { workers: 100 } })).json.workers).toBe(100);
    expect((await limited(`/queues/${queue}`, { method: "PATCH", token: queueAdmin, body: { workers: 50 } })).json.workers).toBe(50);
  });
});

describe("echo outside development", () => {
  it("refuses the ledger, ignoreSignal and sleeps over 5 s unless DEV_JOB_TYPES is on, for every key", async () => {
    const production = apiWith({ DEV_JOB_TYPES: "false" });
    const queue = uniqueQueue("echo");
    const jobs = await count("jobs");
    const cases: [Record<string, unknown>, string][] = [
      [{ ledger: true }, "parameters.ledger"],
      [{ ignoreSignal: true, sleepMs: 100 }, "parameters.ignoreSignal"],
      [{ sleepMs: 5001 }, "parameters.sleepMs"],
      [{ sleepMs: 600_000, progressSteps: 10 }, "parameters.sleepMs"],
    ];
    for (const [parameters, path] of cases) {
      const res = await production("/jobs", { body: { type: "echo", queue, parameters } });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: "validation_error", details: [{ path, message: expect.stringContaining("DEV_JOB_TYPES") }] });
    }
    const viaRecurring = await production("/jobs/recurring", { body: recurring("@daily", { parameters: { ledger: true } }) });
    expect(viaRecurring.status).toBe(400);
    expect(await count("jobs")).toBe(jobs);
    expect((await production("/jobs", { body: { type: "echo", queue, parameters: { sleepMs: 5000 } } })).status).toBe(201);
    expect((await api("/jobs", { body: { type: "echo", queue, parameters: { ledger: true, sleepMs: 6000 }, delay: "01:00:00" } })).status).toBe(201);
  });
});
