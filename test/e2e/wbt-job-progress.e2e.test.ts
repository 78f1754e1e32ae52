import { describe, expect, it } from "vitest";
import { requestJson } from "../support/client-core";
import { baseUrl, token, waitFor } from "./client";
import { hubConnection } from "./realtime-clients";

/** POST /api/jobs as a WbtWebJob client sends it. */
async function createWbtJob(businessId: string, configuration: Record<string, unknown>) {
  const r = await requestJson(fetch, `${baseUrl()}/api/jobs`, token(), {
    body: { businessId, jobType: 1, name: businessId, description: null, configuration: JSON.stringify(configuration) },
  });
  expect(r.status).toBe(201);
  expect(typeof r.json.status).toBe("number");
  return r.json as { id: string };
}

describe("WbtWebJob clients on /hubs/job-progress", () => {
  it("get JobProgress and JobCompleted, and JobFailed, for jobs created through /api/jobs", async () => {
    const hub = hubConnection("/hubs/job-progress");
    const events: { name: string; data: any }[] = [];
    for (const name of ["JobProgress", "JobCompleted", "JobFailed"]) hub.on(name, (data) => events.push({ name, data }));
    await hub.start();
    try {
      const ok = await createWbtJob("WBT-PROGRESS-1", { handler: "echo", sleepMs: 1500, progressSteps: 3, message: "done" });
      await hub.invoke("SubscribeToJob", ok.id);
      const completed = await waitFor(async () => events.find((e) => e.name === "JobCompleted" && e.data.jobId === ok.id), 30_000);
      expect(completed.data.status).toBe(3);
      const progress = events.filter((e) => e.name === "JobProgress" && e.data.jobId === ok.id);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)!.data.progress).toBe(100);

      const bad = await createWbtJob("WBT-PROGRESS-2", { handler: "echo", fail: true, sleepMs: 300 });
      await hub.invoke("SubscribeToJob", bad.id);
      const failed = await waitFor(async () => events.find((e) => e.name === "JobFailed" && e.data.jobId === bad.id), 60_000);
      expect(failed.data.status).toBe(4);
      await hub.invoke("UnsubscribeFromJob", bad.id);
    } finally {
      await hub.stop();
    }
  });
});
