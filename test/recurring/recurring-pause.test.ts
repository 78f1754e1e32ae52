import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitFor } from "../helpers";

const occurrences = async (recurringId: string) => (await api(`/jobs?recurringId=${recurringId}&limit=500`)).json.jobs as any[];

describe("recurring jobs on a paused queue", () => {
  it("holds occurrences while paused without losing the schedule, and runs them on resume", async () => {
    const queue = uniqueQueue("rec-pause");
    expect((await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 2 } })).status).toBe(200);
    expect((await api(`/queues/${queue}/pause`, { method: "POST" })).status).toBe(200);
    const rec = await api("/jobs/recurring", { body: { type: "echo", name: "every second", cronExpression: "* * * * * *", queue } });
    expect(rec.status).toBe(201);

    // While paused: the first occurrence is created and held; with the default overlap policy
    // (skip) no second one piles up behind it, and nothing starts.
    const held = await waitFor(async () => {
      const jobs = await occurrences(rec.json.id);
      return jobs.length >= 1 ? jobs : null;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    const whilePaused = await occurrences(rec.json.id);
    expect(whilePaused.length).toBe(held.length);
    expect(whilePaused.every((j) => j.status === "pending" && j.executedAt === null)).toBe(true);

    expect((await api(`/queues/${queue}/resume`, { method: "POST" })).status).toBe(200);
    const ran = await waitFor(async () => {
      const jobs = await occurrences(rec.json.id);
      return jobs.filter((j) => j.status === "completed").length >= 3 ? jobs : null;
    }, 20_000);
    // The held occurrence ran, and the schedule kept going after it.
    expect(ran.find((j) => j.id === whilePaused[0].id)?.status).toBe("completed");
    expect(new Set(ran.map((j) => j.scheduledFor)).size).toBe(ran.length);

    expect((await api(`/jobs/recurring/${rec.json.id}`, { method: "DELETE" })).status).toBeLessThan(300);
  });
});
