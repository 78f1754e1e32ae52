import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitForStatus } from "./helpers";

describe("delayed and absolute schedules", () => {
  it("never starts a delayed job before its run time", async () => {
    const before = Date.now();
    const created = await api("/jobs", { body: { type: "echo", delay: "00:00:02", queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    const scheduledAt = Date.parse(created.json.scheduledAt);
    expect(scheduledAt).toBeGreaterThanOrEqual(before + 2000);
    expect((await api(`/jobs/${created.json.id}`)).json.status).toBe("pending");
    const job = await waitForStatus(created.json.id, ["completed"], 15_000);
    expect(Date.parse(job.executionHistory[0].startedAt)).toBeGreaterThanOrEqual(scheduledAt);
  });

  it("runs at an absolute executeAt", async () => {
    const at = new Date(Date.now() + 1500).toISOString();
    const created = await api("/jobs", { body: { type: "echo", executeAt: at, queue: uniqueQueue() } });
    expect(created.json.scheduledAt).toBe(at);
    const job = await waitForStatus(created.json.id, ["completed"], 15_000);
    expect(Date.parse(job.executedAt)).toBeGreaterThanOrEqual(Date.parse(at));
  });

  it("accepts d.hh:mm:ss delays", async () => {
    const created = await api("/jobs", { body: { type: "echo", delay: "2.03:00:00", queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    const expected = Date.now() + (2 * 24 + 3) * 3600_000;
    expect(Math.abs(Date.parse(created.json.scheduledAt) - expected)).toBeLessThan(5_000);
    await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
  });

  it("runs the example custom job type and reports progress", async () => {
    const created = await api("/jobs", { body: { type: "word-count", parameters: { text: "one two  three" }, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.result).toEqual({ words: 3, characters: 14 });
    expect(job.progress).toEqual({ percent: 100, message: "counted" });
  });
});
