import { describe, expect, it } from "vitest";
import { call, waitFor } from "./client";

describe("recurring jobs on wrangler dev, black box", () => {
  it("runs an every-second job through the real scheduler, queue and consumer, one job per slot", async () => {
    const created = await call("/jobs/recurring", {
      body: { type: "echo", name: "tick", cronExpression: "* * * * * *", parameters: { message: "tick" }, overlapPolicy: "allow", queue: "e2e-recurring" },
    });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const runs = await waitFor(async () => {
      const r = await call(`/jobs?recurringId=${id}&status=completed&limit=100`);
      return r.json.jobs.length >= 3 ? r.json.jobs : null;
    }, 30_000);
    const slots = runs.map((j: any) => j.scheduledFor);
    expect(new Set(slots).size).toBe(slots.length);
    expect((await call(`/jobs/${runs[0].id}`)).json.result).toEqual({ echo: "tick", attempt: 1 });
    for (const j of runs) {
      expect(Date.parse(j.executedAt)).toBeGreaterThanOrEqual(Date.parse(j.scheduledFor));
    }
    const detail = await call(`/jobs/recurring/${id}`);
    expect(detail.json.lastRun.recurringId).toBe(id);
    expect(detail.json.nextRuns).toHaveLength(5);

    expect((await call(`/jobs/recurring/${id}`, { method: "DELETE" })).status).toBe(204);
    const settled = (await call(`/jobs?recurringId=${id}`)).json.totalCount;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await call(`/jobs?recurringId=${id}`)).json.totalCount).toBe(settled);
  });

  it("refuses an invalid cron expression or time zone with a 400 that says what is wrong", async () => {
    const badCron = await call("/jobs/recurring", { body: { type: "echo", cronExpression: "* * *" } });
    expect(badCron.status).toBe(400);
    expect(badCron.json.message).toMatch(/cronExpression: not a valid cron expression: has 3 fields/);
    const badZone = await call("/jobs", { body: { type: "echo", cronExpression: "@daily", timezone: "Europe/Atlantis" } });
    expect(badZone.status).toBe(400);
    expect(badZone.json.message).toMatch(/timezone: unknown time zone "Europe\/Atlantis"/);
  });
});
