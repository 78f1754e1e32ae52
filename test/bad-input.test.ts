import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, api, BASE } from "./helpers";

/** Every job, live or archived, as the list counts them. */
const jobCount = async () => (await api("/jobs?limit=1")).json.totalCount as number;

type Case = { name: string; status: number; error?: string; path?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; method?: string; url?: string };

const big = "x".repeat(300 * 1024);
const cases: Case[] = [
  { name: "malformed JSON", rawBody: '{"type": "echo",', status: 400, error: "malformed_json" },
  { name: "JSON that is not an object", body: [1, 2, 3], status: 400, error: "validation_error" },
  { name: "empty body", rawBody: "", status: 400 },
  { name: "wrong media type", rawBody: "type=echo", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, error: "unsupported_media_type" },
  { name: "missing type", body: { name: "x" }, status: 400, error: "validation_error", path: "type" },
  { name: "type of the wrong JSON type", body: { type: 42 }, status: 400, path: "type" },
  { name: "unknown job type", body: { type: "NoSuchJob" }, status: 400, path: "type" },
  { name: "invalid parameters for the type", body: { type: "echo", parameters: { sleepMs: "soon" } }, status: 400, path: "parameters.sleepMs" },
  { name: "unknown parameter for the type", body: { type: "echo", parameters: { bogus: 1 } }, status: 400, path: "parameters" },
  { name: "parameters not an object", body: { type: "echo", parameters: "x" }, status: 400, path: "parameters" },
  { name: "negative delay", body: { type: "echo", delay: "-00:00:05" }, status: 400, path: "delay" },
  { name: "malformed delay", body: { type: "echo", delay: "5 minutes" }, status: 400, path: "delay" },
  { name: "delay with 61 minutes", body: { type: "echo", delay: "00:61:00" }, status: 400, path: "delay" },
  { name: "delay as a number", body: { type: "echo", delay: 300 }, status: 400, path: "delay" },
  { name: "delay and executeAt together", body: { type: "echo", delay: "00:00:05", executeAt: "2030-01-01T00:00:00Z" }, status: 400, path: "executeAt" },
  { name: "executeAt not ISO 8601", body: { type: "echo", executeAt: "tomorrow" }, status: 400, path: "executeAt" },
  { name: "unknown priority", body: { type: "echo", priority: "urgent" }, status: 400, path: "priority" },
  { name: "negative maxRetries", body: { type: "echo", maxRetries: -1 }, status: 400, path: "maxRetries" },
  { name: "fractional maxRetries", body: { type: "echo", maxRetries: 1.5 }, status: 400, path: "maxRetries" },
  { name: "invalid cron expression", body: { type: "echo", cronExpression: "61 * * * *" }, status: 400, path: "cronExpression" },
  { name: "unknown time zone for a cron job", body: { type: "echo", cronExpression: "0 * * * *", timezone: "Mars/Olympus" }, status: 400, path: "timezone" },
  { name: "unknown top-level field", body: { type: "echo", colour: "blue" }, status: 400 },
  { name: "queue name with SQL", body: { type: "echo", queue: "default'; DROP TABLE jobs;--" }, status: 400, path: "queue" },
  { name: "queue name with unicode", body: { type: "echo", queue: "очередь" }, status: 400, path: "queue" },
  { name: "name too long", body: { type: "echo", name: "n".repeat(500) }, status: 400, path: "name" },
  { name: "timeout above the limit", body: { type: "echo", timeoutSeconds: 100_000 }, status: 400, path: "timeoutSeconds" },
  { name: "http job with a private URL is fine locally but not with a bad scheme", body: { type: "http", parameters: { url: "file:///etc/passwd" } }, status: 400, path: "parameters.url" },
  { name: "http job with an invalid method", body: { type: "http", parameters: { url: "https://example.com", method: "BREW" } }, status: 400, path: "parameters.method" },
  { name: "huge body", rawBody: JSON.stringify({ type: "echo", name: big }), status: 413, error: "payload_too_large" },
  { name: "list: limit 0", method: "GET", url: "/jobs?limit=0", status: 400, path: "limit" },
  { name: "list: limit 10000", method: "GET", url: "/jobs?limit=10000", status: 400, path: "limit" },
  { name: "list: negative offset", method: "GET", url: "/jobs?offset=-1", status: 400, path: "offset" },
  { name: "list: unknown status", method: "GET", url: "/jobs?status=exploded", status: 400, path: "status" },
  { name: "list: bad date", method: "GET", url: "/jobs?from=yesterday", status: 400, path: "from" },
  { name: "list: unknown filter", method: "GET", url: "/jobs?colour=blue", status: 400 },
  { name: "execute: bad delay", url: "/jobs/job_x/execute", body: { delay: "soon" }, status: 400, path: "delay" },
  { name: "retry: wrong type", url: "/jobs/job_x/retry", body: { resetRetryCount: "yes" }, status: 400, path: "resetRetryCount" },
];

describe("bad input", () => {
  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));

  it.each(cases)("$name → $status in the one error shape, nothing stored", async (c) => {
    const before = await jobCount();
    const res = await api(c.url ?? "/jobs", {
      method: c.method ?? "POST",
      body: c.body,
      rawBody: c.rawBody,
      headers: c.rawBody !== undefined ? { "content-type": "application/json", ...c.headers } : c.headers,
    });
    expect(res.status).toBe(c.status);
    expect(typeof res.json.error).toBe("string");
    expect(typeof res.json.message).toBe("string");
    expect(res.json.message.length).toBeGreaterThan(5);
    expect(JSON.stringify(res.json)).not.toMatch(/at .*\.ts:\d+/);
    if (c.error) expect(res.json.error).toBe(c.error);
    if (c.path) expect(res.json.details.map((d: any) => d.path)).toContain(c.path);
    expect(await jobCount()).toBe(before);
  });

  it("stops reading a body without Content-Length at the limit and answers 413", async () => {
    // A body that goes past 256 KB and then never ends: reading it whole would never finish.
    const chunk = new TextEncoder().encode(`{"type":"echo","name":"${"x".repeat(64 * 1024)}`);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk);
        else return new Promise(() => {});
      },
    });
    const before = await jobCount();
    const request = new Request(`${BASE}/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: endless,
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the body was read to its end")), 5000));
    const res = await Promise.race([exports.default.fetch(request), timeout]);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "payload_too_large" });
    expect(sent).toBeLessThanOrEqual(5);
    expect(await jobCount()).toBe(before);
  });

  it("still reads a streamed body under the limit", async () => {
    const body = new TextEncoder().encode(JSON.stringify({ type: "echo", name: "streamed", delay: "01:00:00" }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body.slice(0, 10));
        controller.enqueue(body.slice(10));
        controller.close();
      },
    });
    const request = new Request(`${BASE}/jobs`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
    const res = await exports.default.fetch(request);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "streamed" });
  });

  it("answers unknown routes with 404 in the same shape", async () => {
    const res = await api("/nothing-here");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: "not_found" });
  });

  it("stores SQL-ish and unicode strings verbatim where they are allowed", async () => {
    const name = "Robert'); DROP TABLE jobs;-- 🚀 ünïcödé";
    const res = await api("/jobs", { body: { type: "echo", name, parameters: { message: name }, delay: "01:00:00" } });
    expect(res.status).toBe(201);
    const job = (await api(`/jobs/${res.json.id}`)).json;
    expect(job.name).toBe(name);
    expect(job.parameters.message).toBe(name);
    await api(`/jobs/${res.json.id}/cancel`, { method: "POST" });
  });
});
