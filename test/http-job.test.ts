import { describe, expect, it } from "vitest";
import { HTTP_RESULT_BODY_LIMIT } from "../src/jobs/http";
import { api, targetCalls, targetUrl, uniqueQueue, waitForStatus } from "./helpers";

describe("http job type", () => {
  it("sends method, headers, JSON body and auth, and records the response", async () => {
    const tag = `http-${crypto.randomUUID()}`;
    const created = await api("/jobs", {
      body: {
        type: "http",
        parameters: { url: `${targetUrl()}/record/${tag}`, method: "POST", headers: { "X-Trace": "t1" }, body: { order: 42 }, auth: { type: "bearer", token: "s3cret" } },
        queue: uniqueQueue(),
      },
    });
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");
    expect(job.result.status).toBe(200);
    expect(JSON.parse(job.result.body)).toEqual({ ok: true, received: 12 });
    expect(job.result.headers["content-type"]).toBe("application/json");
    const { calls } = await targetCalls(tag);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "POST", body: '{"order":42}' });
    expect(calls[0].headers).toMatchObject({ authorization: "Bearer s3cret", "x-trace": "t1", "content-type": "application/json" });
  });

  it("fails on an unexpected status, honouring expectedStatus", async () => {
    const tag = `status-${crypto.randomUUID()}`;
    const failing = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/${tag}?status=404` }, maxRetries: 0, queue: uniqueQueue() } });
    const failed = await waitForStatus(failing.json.id, ["failed", "completed"]);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/HTTP 404/);
    expect(failed.result.status).toBe(404);
    const accepted = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/${tag}?status=404`, expectedStatus: [404] }, queue: uniqueQueue() } });
    expect((await waitForStatus(accepted.json.id, ["failed", "completed"])).status).toBe("completed");
  });

  it("follows redirects hop by hop, or reports them when told not to", async () => {
    const tag = `redir-${crypto.randomUUID()}`;
    const to = encodeURIComponent(`${targetUrl()}/record/${tag}`);
    const followed = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/redirect/${tag}?to=${to}` }, queue: uniqueQueue() } });
    const job = await waitForStatus(followed.json.id, ["completed", "failed"]);
    expect(job.result).toMatchObject({ status: 200, redirects: 1, url: `${targetUrl()}/record/${tag}` });
    const notFollowed = await api("/jobs", {
      body: { type: "http", parameters: { url: `${targetUrl()}/redirect/${tag}?to=${to}`, followRedirects: false, expectedStatus: [302] }, queue: uniqueQueue() },
    });
    const kept = await waitForStatus(notFollowed.json.id, ["completed", "failed"]);
    expect(kept.result).toMatchObject({ status: 302, redirects: 0 });
  });

  it("keeps credentials, custom headers and the body on a same-origin redirect but drops them when the origin changes", async () => {
    const tag = `xorigin-${crypto.randomUUID()}`;
    const other = targetUrl().replace("127.0.0.1", "localhost");
    const parameters = (to: string) => ({
      url: `${targetUrl()}/redirect/${tag}?status=307&to=${encodeURIComponent(to)}`,
      method: "POST",
      headers: { Cookie: "session=abc", "X-Trace": "t1", Accept: "application/json" },
      body: { secret: "payload" },
      auth: { type: "apiKey", headerName: "X-Api-Key", value: "k-123" },
    });
    const same = await api("/jobs", { body: { type: "http", parameters: parameters(`${targetUrl()}/record/${tag}-same`), queue: uniqueQueue() } });
    expect((await waitForStatus(same.json.id, ["completed", "failed"])).status).toBe("completed");
    const [kept] = (await targetCalls(`${tag}-same`)).calls;
    expect(kept).toMatchObject({ method: "POST", body: '{"secret":"payload"}' });
    expect(kept.headers).toMatchObject({ cookie: "session=abc", "x-api-key": "k-123", "x-trace": "t1" });

    const bearer = { ...parameters(`${other}/record/${tag}-other`), auth: { type: "bearer", token: "s3cret" } };
    const cross = await api("/jobs", { body: { type: "http", parameters: bearer, queue: uniqueQueue() } });
    expect((await waitForStatus(cross.json.id, ["completed", "failed"])).status).toBe("completed");
    const apiKey = await api("/jobs", { body: { type: "http", parameters: parameters(`${other}/record/${tag}-other`), queue: uniqueQueue() } });
    expect((await waitForStatus(apiKey.json.id, ["completed", "failed"])).status).toBe("completed");
    const { calls } = await targetCalls(`${tag}-other`);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.body).toBe("");
      for (const h of ["authorization", "cookie", "x-api-key", "x-trace", "content-type"]) expect(call.headers[h], h).toBeUndefined();
      expect(call.headers.accept).toBe("application/json");
    }
  });

  it("holds at most 6 connections at once, and a job's timeout starts when its request does", async () => {
    const tag = `slots-${crypto.randomUUID()}`;
    const queue = uniqueQueue();
    // 18 requests of 0.6 s through 6 connections take about 1.8 s: more than each job's 1 s timeout,
    // so they only all succeed if no timer runs while its request waits for a connection.
    const jobs = Array.from({ length: 18 }, (_, i) => ({
      type: "http",
      name: `slow ${i}`,
      parameters: { url: `${targetUrl()}/slow/${tag}?ms=600`, timeoutSeconds: 1 },
      maxRetries: 0,
      queue,
    }));
    const created = await api("/jobs/batch", { body: { jobs } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const ids: string[] = created.json.jobs.map((j: { id: string }) => j.id);
    const done = await Promise.all(ids.map((id) => waitForStatus(id, ["completed", "failed"], 25_000)));
    expect(done.map((j) => j.status)).toEqual(ids.map(() => "completed"));
    const { calls, maxConcurrent } = await targetCalls(tag);
    expect(calls).toHaveLength(18);
    expect(maxConcurrent).toBeGreaterThan(1);
    expect(maxConcurrent).toBeLessThanOrEqual(6);
  });

  it("truncates a large response body in the result", async () => {
    const created = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/big/x?bytes=200000` }, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.result.bodyTruncated).toBe(true);
    expect(job.result.body.length).toBe(HTTP_RESULT_BODY_LIMIT);
  });
});

describe("http job SSRF guard at creation", () => {
  it("refuses private targets when ALLOW_PRIVATE_TARGETS is off, and stores nothing", async () => {
    const { env } = await import("cloudflare:workers");
    const { createJobs } = await import("../src/services/create-jobs");
    const { ApiError } = await import("../src/http/errors");
    const strictEnv = { ...env, ALLOW_PRIVATE_TARGETS: "false" } as Env;
    const { jobTotal: count } = await import("./queue-helpers");
    const before = await count();
    for (const url of ["http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/"]) {
      const request = { type: "http", parameters: { url }, priority: "normal" as const, maxRetries: 3, queue: "default" };
      const err = await createJobs(strictEnv, "test", [{ request }], () => [], { limits: null }).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(400);
      expect(err.details[0].path).toBe("parameters.url");
    }
    expect(await count()).toBe(before);
  });
});

describe("http job headers at creation", () => {
  it.each([
    ["a custom header value with CR LF", { headers: { "X-Trace": "a\r\nX-Injected: 1" } }, "parameters.headers.X-Trace"],
    ["a custom header value with NUL", { headers: { "X-Trace": "a\u0000b" } }, "parameters.headers.X-Trace"],
    ["a bearer token with LF", { auth: { type: "bearer", token: "t\nX-Injected: 1" } }, "parameters.auth.token"],
    ["an API key value with CR", { auth: { type: "apiKey", headerName: "X-Api-Key", value: "k\r1" } }, "parameters.auth.value"],
    ["an API key header name with a space", { auth: { type: "apiKey", headerName: "X Api Key", value: "k" } }, "parameters.auth.headerName"],
  ])("refuses %s with a 400 and stores nothing", async (_, extra, path) => {
    const queue = uniqueQueue();
    const res = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/record/hdr`, ...extra }, queue } });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("validation_error");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
  });
});

