import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, api, targetCalls, targetUrl, waitFor, waitForStatus } from "./helpers";
import { exports } from "cloudflare:workers";
import { requestJson, type CallInit } from "./support/client-core";
import { jobTotal } from "./queue-helpers";

/** Calls the WbtWebJob API at /api/jobs (outside the TickerQ base path). */
function wbt(path: string, init: CallInit = {}) {
  return requestJson((req) => exports.default.fetch(req), `http://edge-ticker.test/api/jobs${path}`, ADMIN, init);
}

const jobCount = jobTotal;

function expectSeedShape(job: any) {
  expect(Object.keys(job).sort()).toEqual(
    ["id", "businessId", "jobType", "name", "description", "status", "configuration", "createdAt", "updatedAt", "startedAt", "completedAt"].sort(),
  );
  expect(typeof job.id).toBe("string");
  expect(typeof job.jobType).toBe("number");
  expect(typeof job.status).toBe("number");
  expect(typeof job.configuration).toBe("string");
  expect(job.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
}

describe("WbtWebJob-compatible API", () => {
  it("accepts the seed's create example verbatim and answers in the seed's shape", async () => {
    const seedRequest = {
      businessId: "ORDER_12345",
      jobType: 1,
      name: "订单处理任务",
      description: "处理订单号12345的相关业务",
      configuration: '{"key":"value"}',
    };
    const created = await wbt("", { body: seedRequest });
    expect(created.status).toBe(201);
    expectSeedShape(created.json);
    expect(created.json).toMatchObject({ businessId: "ORDER_12345", jobType: 1, name: "订单处理任务", description: "处理订单号12345的相关业务", status: 1, configuration: '{"key":"value"}', updatedAt: null, startedAt: null, completedAt: null });
    expect(created.json.id).toMatch(/^BI_\d{14}_[a-z0-9]{6}$/);

    const done = await waitFor(async () => {
      const r = await wbt(`/${created.json.id}`);
      return r.json.status === 3 ? r.json : null;
    });
    expectSeedShape(done);
    expect(done.startedAt).not.toBeNull();
    expect(done.completedAt).not.toBeNull();

    // The same job in the main API, and the business lookup.
    const main = await api(`/jobs/${created.json.id}`);
    expect(main.json).toMatchObject({ id: created.json.id, type: "echo", status: "completed", result: { echo: { key: "value" } } });
    const byBusiness = await wbt("/business/ORDER_12345");
    expect(byBusiness.json.id).toBe(created.json.id);
  });

  it("runs the seed's HTTP job example against a local server", async () => {
    const tag = `wbt-${crypto.randomUUID()}`;
    const configuration = JSON.stringify({ url: `${targetUrl()}/record/${tag}`, method: "POST", headers: { Authorization: "Bearer token" }, body: "{}", authType: "Bearer", timeoutSeconds: 30 });
    const created = await wbt("", { body: { businessId: "HTTP_TASK_001", jobType: 3, name: "HTTP请求任务", configuration } });
    expect(created.status).toBe(201);
    expectSeedShape(created.json);
    // Echoed as sent, except the credentials (here the Authorization header), shown as "***".
    expect(created.json).toMatchObject({ jobType: 3, description: null, configuration: configuration.replace('"Bearer token"', '"***"') });
    expect(created.json.id).toMatch(/^HT_/);
    await waitForStatus(created.json.id, ["completed"]);
    const { calls } = await targetCalls(tag);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "POST", body: "{}" });
    expect(calls[0].headers.authorization).toBe("Bearer token");

    const logs = await wbt(`/${created.json.id}/logs`);
    expect(Array.isArray(logs.json)).toBe(true);
    expect(logs.json.length).toBeGreaterThan(0);
    for (const l of logs.json) {
      expect(Object.keys(l).sort()).toEqual(["createdAt", "details", "id", "jobId", "level", "message", "stepName"]);
      expect(l.jobId).toBe(created.json.id);
      expect(l.level).toBe("Info");
    }
  });

  it("describes a job created through the main API (reverse lookup)", async () => {
    const created = await api("/jobs", { body: { type: "word-count", parameters: { text: "a b" } } });
    const viaWbt = await wbt(`/${created.json.id}`);
    expect(viaWbt.status).toBe(200);
    expectSeedShape(viaWbt.json);
    expect(viaWbt.json).toMatchObject({ businessId: null, jobType: 2, configuration: '{"text":"a b"}' });
  });

  it("runs a Custom job through its registered type", async () => {
    const created = await wbt("", { body: { businessId: "C-1", jobType: 2, name: "count", configuration: '{"handler":"word-count","text":"x y z"}' } });
    expect(created.status).toBe(201);
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.result).toEqual({ words: 3, characters: 5 });
  });

  it("cancels with the seed's answer and 404s unknown ids in the seed's error shape", async () => {
    const created = await wbt("", { body: { businessId: "CANCEL-1", jobType: 1, name: "later", configuration: '{"handler":"echo","sleepMs":60000}' } });
    await waitForStatus(created.json.id, ["running"]);
    const cancelled = await wbt(`/${created.json.id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.jobId).toBe(created.json.id);
    expect(typeof cancelled.json.message).toBe("string");
    await waitFor(async () => (await wbt(`/${created.json.id}`)).json.status === 5);

    for (const [method, path] of [["POST", "/BI_20231029120000_nope00/cancel"], ["GET", "/BI_20231029120000_nope00"], ["GET", "/business/NOPE"], ["GET", "/BI_x/logs"]]) {
      const res = await wbt(path, { method });
      expect(res.status).toBe(404);
      expect(typeof res.json.error).toBe("string");
      expect(typeof res.json.message).toBe("string");
    }
  });

  it("refuses malformed configuration and other bad input, storing nothing", async () => {
    const before = await jobCount();
    const bad = [
      { businessId: "B", jobType: 1, name: "n", configuration: "{not json" },
      { businessId: "B", jobType: 1, name: "n", configuration: "[1,2]" },
      { businessId: "B", jobType: 1, name: "n", configuration: { key: "value" } },
      { businessId: "B", jobType: 4, name: "n", configuration: "{}" },
      { businessId: "B", jobType: "1", name: "n", configuration: "{}" },
      { businessId: "", jobType: 1, name: "n", configuration: "{}" },
      { businessId: "B", jobType: 3, name: "n", configuration: '{"method":"GET"}' },
      { businessId: "B", jobType: 3, name: "n", configuration: '{"url":"ftp://x"}' },
      { businessId: "B", jobType: 3, name: "n", configuration: '{"url":"https://example.com","authType":"Magic"}' },
      { businessId: "B", jobType: 2, name: "n", configuration: '{"text":"no handler"}' },
      { businessId: "B", jobType: 2, name: "n", configuration: '{"handler":"echo"}' },
      { businessId: "B", jobType: 1, name: "n", configuration: '{"handler":"word-count","text":"x"}' },
    ];
    for (const body of bad) {
      const res = await wbt("", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(typeof res.json.error).toBe("string");
      expect(typeof res.json.message).toBe("string");
    }
    const malformed = await wbt("", { rawBody: '{"businessId":', headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(await jobCount()).toBe(before);
    const configError = await wbt("", { body: bad[0] });
    expect(configError.json.details[0].path).toBe("configuration");
  });

  it("needs a token", async () => {
    expect((await wbt("/BI_x", { token: null })).status).toBe(401);
    expect((await wbt("", { token: null, body: {} })).status).toBe(401);
  });
});
