import { describe, expect, it } from "vitest";
import { api, targetUrl, uniqueQueue, waitFor, waitForStatus } from "./helpers";

describe("cancel, retry and execute", () => {
  it("cancels a pending job at once and it never runs", async () => {
    const created = await api("/jobs", { body: { type: "echo", delay: "01:00:00", queue: uniqueQueue() } });
    const cancelled = await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: "cancelled", cancelRequested: false });
    const job = (await api(`/jobs/${created.json.id}`)).json;
    expect(job.status).toBe("cancelled");
    expect(job.executionHistory).toEqual([]);
    const again = await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe("conflict");
  });

  it("cancels a running job through its AbortSignal", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { sleepMs: 30_000 }, queue: uniqueQueue() } });
    await waitForStatus(created.json.id, ["running"]);
    const res = await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(202);
    expect(res.json.cancelRequested).toBe(true);
    const job = await waitForStatus(created.json.id, ["cancelled", "completed", "failed"], 10_000);
    expect(job.status).toBe("cancelled");
    expect(job.executionHistory).toHaveLength(1);
    expect(job.executionHistory[0].status).toBe("cancelled");
    expect(job.executionHistory[0].durationMs).toBeLessThan(20_000);
  });

  it("404s for an unknown job", async () => {
    for (const path of ["/jobs/job_missing", "/jobs/job_missing/logs"]) {
      const res = await api(path);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ error: "not_found" });
    }
    expect((await api("/jobs/job_missing/cancel", { method: "POST" })).status).toBe(404);
    expect((await api("/jobs/job_missing/retry", { method: "POST" })).status).toBe(404);
    expect((await api("/jobs/job_missing/execute", { method: "POST" })).status).toBe(404);
  });

  it("retries a failed job back to pending, and it then runs", async () => {
    const tag = `retry-${crypto.randomUUID()}`;
    const created = await api("/jobs", { body: { type: "http", parameters: { url: `${targetUrl()}/flaky/${tag}?fail=1` }, maxRetries: 0, queue: uniqueQueue() } });
    const failed = await waitForStatus(created.json.id, ["failed"]);
    expect(failed.retryCount).toBe(0);
    const pendingRetry = await api(`/jobs/${created.json.id}/retry`, { method: "POST", body: { resetRetryCount: true } });
    expect(pendingRetry.status).toBe(202);
    expect(pendingRetry.json.status).toBe("pending");
    const done = await waitForStatus(created.json.id, ["completed"]);
    expect(done.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    const notFailed = await api(`/jobs/${created.json.id}/retry`, { method: "POST" });
    expect(notFailed.status).toBe(409);
  });

  it("executes a completed job again, now or after a delay, with a new priority", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { message: 1 }, queue: uniqueQueue() } });
    await waitForStatus(created.json.id, ["completed"]);
    const rerun = await api(`/jobs/${created.json.id}/execute`, { method: "POST", body: { priority: "high" } });
    expect(rerun.status).toBe(202);
    expect(rerun.json.priority).toBe("high");
    const twice = await waitFor(async () => {
      const j = (await api(`/jobs/${created.json.id}`)).json;
      return j.status === "completed" && j.executionHistory.length === 2 ? j : null;
    });
    expect(twice.result).toEqual({ echo: 1, attempt: 2 });

    const delayed = await api(`/jobs/${created.json.id}/execute`, { method: "POST", body: { delay: "00:10:00" } });
    expect(delayed.status).toBe(202);
    expect(Date.parse(delayed.json.scheduledAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect((await api(`/jobs/${created.json.id}`)).json.status).toBe("pending");
  });

  it("refuses to execute or retry a running job", async () => {
    const created = await api("/jobs", { body: { type: "echo", parameters: { sleepMs: 5_000 }, queue: uniqueQueue() } });
    await waitForStatus(created.json.id, ["running"]);
    expect((await api(`/jobs/${created.json.id}/execute`, { method: "POST" })).status).toBe(409);
    expect((await api(`/jobs/${created.json.id}/retry`, { method: "POST" })).status).toBe(409);
    await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
  });
});
