import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitForStatus } from "./helpers";

describe("job lifecycle", () => {
  it("runs an echo job to completed with its history and result", async () => {
    const created = await api("/jobs", { body: { type: "echo", name: "hello", parameters: { message: "hi", logLines: 2 }, queue: uniqueQueue() } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ type: "echo", name: "hello", status: "pending", priority: "normal", retryCount: 0, maxRetries: 3 });
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ echo: "hi", attempt: 1 });
    expect(job.executionHistory).toHaveLength(1);
    expect(job.executionHistory[0]).toMatchObject({ attempt: 1, status: "completed", error: null });
    expect(job.duration).toMatch(/^\d{2}:\d{2}:\d{2}/);
    const logs = await api(`/jobs/${job.id}/logs`);
    expect(logs.json.logs.map((l: any) => l.message)).toEqual(["echo line 1", "echo line 2"]);
  });
});
