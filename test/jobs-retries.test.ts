import { describe, expect, it } from "vitest";
import { api, targetUrl, uniqueQueue, waitForStatus } from "./helpers";

const ms = (iso: string) => Date.parse(iso);

describe("retries and failures", () => {
  it("retries a failing job with growing delays, then fails after maxRetries", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { fail: true }, maxRetries: 3, queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    const job = await waitForStatus(created.json.id, ["failed"], 20_000);
    expect(job.retryCount).toBe(3);
    expect(job.attempts).toBe(4);
    expect(job.error).toMatch(/echo failed on request/);
    const history = job.executionHistory;
    expect(history.map((a: any) => a.status)).toEqual(["failed", "failed", "failed", "failed"]);
    // Delays follow base 200 ms × 2^retry with equal jitter: [100,200], [200,400], [400,800] ms.
    const delays = history.slice(0, 3).map((a: any) => ms(a.retryAt) - ms(a.completedAt));
    expect(delays[0]).toBeGreaterThanOrEqual(100);
    expect(delays[0]).toBeLessThanOrEqual(200);
    expect(delays[1]).toBeGreaterThanOrEqual(200);
    expect(delays[1]).toBeLessThanOrEqual(400);
    expect(delays[2]).toBeGreaterThanOrEqual(400);
    expect(delays[2]).toBeLessThanOrEqual(800);
    expect(history[3].retryAt).toBeNull();
    for (let i = 1; i < history.length; i++) {
      expect(ms(history[i].startedAt)).toBeGreaterThanOrEqual(ms(history[i - 1].retryAt));
    }
  });

  it("succeeds on a later attempt when the failure is transient", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { failTimes: 2, message: "third time" }, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"], 20_000);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "failed", "completed"]);
    expect(job.result).toEqual({ echo: "third time", attempt: 3 });
    expect(job.error).toBeNull();
  });

  it("fails an attempt that exceeds its timeout", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { sleepMs: 10_000 }, timeoutSeconds: 1, maxRetries: 0, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["failed", "completed"], 20_000);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/Timed out after 1 s/);
    expect(job.executionHistory[0].durationMs).toBeGreaterThanOrEqual(900);
    expect(job.executionHistory[0].durationMs).toBeLessThan(9_000);
  });

  it("records an http job's failing response and retries it until the target recovers", async () => {
    const tag = `flaky-${crypto.randomUUID()}`;
    const created = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/flaky/${tag}?fail=1` }, maxRetries: 2, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"], 20_000);
    expect(job.status).toBe("completed");
    expect(job.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    expect(job.executionHistory[0].error).toMatch(/HTTP 500/);
    expect(job.result.status).toBe(200);
  });
});
