import { build } from "esbuild";
import { WebSocket } from "ws";
import { describe, expect, it } from "vitest";
import { createClient, EdgeTickerError, TickerQClient, type LiveMessage } from "../../src/client/index";
import { waitFor } from "../support/client-core";
import { baseUrl, token } from "./provided";

const uniqueQueue = (prefix = "client") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** The `ws` constructor, keeping each socket so that a test can cut one off as a network failure would. */
function trackedWebSocket() {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked, sockets };
}

describe("typed client (edge-ticker/client) against wrangler dev", () => {
  it("bundles from its own files alone: no server module and no package at run time", async () => {
    const result = await build({ entryPoints: ["src/client/index.ts"], bundle: true, format: "esm", platform: "neutral", write: false, metafile: true, logLevel: "silent" });
    expect(Object.keys(result.metafile.inputs).every((f) => f.startsWith("src/client/"))).toBe(true);
    const text = result.outputFiles[0].text;
    expect(text).not.toMatch(/^import /m);
    expect(text).not.toMatch(/\bprocess\.|node:/);
  });

  it("the seed's TickerQClient snippet works as written: scheduleJob then getJobs", async () => {
    const client = new TickerQClient(baseUrl(), token());
    const queue = uniqueQueue("seed");
    const job = await client.scheduleJob("echo", { message: "Hello" }, { queue, priority: "high", name: "seed snippet" });
    expect(job).toMatchObject({ type: "echo", queue, priority: "high", name: "seed snippet", status: "pending" });
    const page = await client.getJobs({ queue });
    expect(page.jobs.map((j) => j.id)).toEqual([job.id]);
    expect(page.totalCount).toBe(1);
  });

  it("drives a job through its whole life: create, progress, complete, logs; fail, retry; delay, cancel; execute", async () => {
    const client = createClient({ baseUrl: baseUrl(), token: token(), WebSocket });
    const queue = uniqueQueue();

    const ok = await client.jobs.create({ type: "echo", queue, parameters: { message: "hi", logLines: 2, progressSteps: 2, sleepMs: 400 } });
    const done = await client.waitForJob(ok.id, { timeoutMs: 30_000 });
    expect(done).toMatchObject({ id: ok.id, status: "completed", progress: { percent: 100 } });
    expect(done.executionHistory).toHaveLength(1);
    expect((await client.jobs.logs(ok.id)).logs.length).toBeGreaterThanOrEqual(2);

    const failing = await client.jobs.create({ type: "echo", queue, maxRetries: 0, parameters: { fail: true } });
    expect((await client.waitForJob(failing.id, { timeoutMs: 30_000 })).status).toBe("failed");
    const retried = await client.jobs.retry(failing.id, { resetRetryCount: true });
    expect(retried.id).toBe(failing.id);
    const again = await client.waitForJob(failing.id, { timeoutMs: 30_000 });
    expect(again.status).toBe("failed");
    expect(again.executionHistory.length).toBe(2);

    const later = await client.jobs.create({ type: "echo", queue, delay: "01:00:00" });
    const cancelled = await client.jobs.cancel(later.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await client.getJob(later.id)).status).toBe("cancelled");

    const postponed = await client.jobs.create({ type: "echo", queue, delay: "01:00:00" });
    await client.jobs.execute(postponed.id);
    expect((await client.waitForJob(postponed.id, { timeoutMs: 30_000 })).status).toBe("completed");
  });

  it("throws EdgeTickerError with the API's code, status and details", async () => {
    const client = createClient({ baseUrl: baseUrl(), token: token() });
    const missing = await client.getJob("job_does_not_exist").catch((e) => e);
    expect(missing).toBeInstanceOf(EdgeTickerError);
    expect(missing).toMatchObject({ status: 404, code: "not_found" });

    const invalid = await client.jobs.create({ type: "echo", queue: "has spaces" }).catch((e) => e);
    expect(invalid).toMatchObject({ status: 400, code: "validation_error" });
    expect(invalid.details.map((d: { path: string }) => d.path)).toContain("queue");

    const badToken = await createClient({ baseUrl: baseUrl(), token: "not-a-real-token" }).jobs.list().catch((e) => e);
    expect(badToken).toMatchObject({ status: 401, code: "unauthorized" });

    const unreachable = await createClient({ baseUrl: "http://127.0.0.1:1", token: token() }).jobs.list().catch((e) => e);
    expect(unreachable).toMatchObject({ status: 0, code: "unreachable" });
  });

  it("listJobs pages through all 250 jobs of a queue, each once", async () => {
    const client = createClient({ baseUrl: baseUrl(), token: token() });
    const queue = uniqueQueue("page");
    const jobs = Array.from({ length: 250 }, (_, i) => ({ type: "echo", queue, name: `job ${i}`, delay: "01:00:00" }));
    const created = await client.jobs.batch({ jobs });
    expect(created.count).toBe(250);

    const seen: string[] = [];
    for await (const job of client.listJobs({ queue, limit: 60 })) seen.push(job.id);
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(new Set(created.jobs.map((j) => j.id)));
    await client.queues.clear(queue, {});
  });

  it("subscribe receives live events and, after a forced disconnect, resumes with none lost or repeated", async () => {
    const { WebSocket: Tracked, sockets } = trackedWebSocket();
    const client = createClient({ baseUrl: baseUrl(), token: token(), WebSocket: Tracked });
    const queue = uniqueQueue("live");
    const messages: LiveMessage[] = [];
    const unsubscribe = client.subscribe(["job-status"], (m) => messages.push(m), { filters: { queue } });
    await unsubscribe.ready;

    const first = await Promise.all([1, 2, 3].map(() => client.jobs.create({ type: "echo", queue })));
    const completed = (id: string) => messages.some((m) => m.type === "job-status-changed" && m.data.jobId === id && m.data.status === "completed");
    await waitFor(async () => first.every((j) => completed(j.id)));

    // Cut the connection; jobs created and finished while it is down must still arrive, by replay.
    sockets[0].terminate();
    const second = await Promise.all([1, 2, 3].map(() => client.jobs.create({ type: "echo", queue })));
    await waitFor(async () => second.every((j) => completed(j.id)));
    unsubscribe();

    expect(sockets.length).toBeGreaterThanOrEqual(2);
    const seqs = messages.map((m) => m.seq);
    expect(seqs.every((s) => typeof s === "number")).toBe(true);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a! - b!)).toEqual(seqs);
    for (const job of [...first, ...second]) {
      const statuses = messages.filter((m) => m.data.jobId === job.id).map((m) => m.data.status);
      expect(statuses, job.id).toEqual(["pending", "running", "completed"]);
    }
  });

  it("waitForJob reports live progress, and falls back to polling without a WebSocket", async () => {
    const queue = uniqueQueue("wait");
    const live = createClient({ baseUrl: baseUrl(), token: token(), WebSocket });
    const job = await live.jobs.create({ type: "echo", queue, parameters: { progressSteps: 4, sleepMs: 2000 } });
    const seen: number[] = [];
    const done = await live.waitForJob(job.id, { onProgress: (p) => seen.push(p.percent), timeoutMs: 30_000 });
    expect(done.status).toBe("completed");
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen.at(-1)).toBe(100);

    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined();
    const polling = createClient({ baseUrl: baseUrl(), token: token() });
    const other = await polling.jobs.create({ type: "echo", queue, parameters: { progressSteps: 2, sleepMs: 1500 } });
    const progress: number[] = [];
    const finished = await polling.waitForJob(other.id, { onProgress: (p) => progress.push(p.percent), pollIntervalMs: 200, timeoutMs: 30_000 });
    expect(finished.status).toBe("completed");
    expect(progress.at(-1)).toBe(100);
    expect(() => polling.subscribe(["job-status"], () => {})).toThrow(/WebSocket/);
  });
});
