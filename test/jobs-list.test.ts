import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitForStatus } from "./helpers";

describe("GET /jobs", () => {
  it("filters by queue, type and status and pages with limit/offset", async () => {
    const queue = uniqueQueue("list");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api("/jobs", { body: { type: "echo", name: `job ${i}`, delay: "01:00:00", queue } });
      ids.push(r.json.id);
    }
    const wc = await api("/jobs", { body: { type: "word-count", parameters: { text: "a" }, queue } });
    await waitForStatus(wc.json.id, ["completed"]);

    const all = await api(`/jobs?queue=${queue}`);
    expect(all.status).toBe(200);
    expect(all.json.totalCount).toBe(6);
    expect(all.json.hasMore).toBe(false);
    expect(all.json.jobs[0]).toMatchObject({ id: wc.json.id, type: "word-count", status: "completed" });

    const page1 = await api(`/jobs?queue=${queue}&type=echo&limit=2`);
    expect(page1.json).toMatchObject({ totalCount: 5, hasMore: true });
    expect(page1.json.jobs.map((j: any) => j.id)).toEqual([ids[4], ids[3]]);
    const page3 = await api(`/jobs?queue=${queue}&type=echo&limit=2&offset=4`);
    expect(page3.json.jobs.map((j: any) => j.id)).toEqual([ids[0]]);
    expect(page3.json.hasMore).toBe(false);

    const pending = await api(`/jobs?queue=${queue}&status=pending`);
    expect(pending.json.totalCount).toBe(5);
    const completed = await api(`/jobs?queue=${queue}&status=completed`);
    expect(completed.json.jobs.map((j: any) => j.id)).toEqual([wc.json.id]);

    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await api(`/jobs?queue=${queue}&from=${encodeURIComponent(future)}`)).json.totalCount).toBe(0);
    expect((await api(`/jobs?queue=${queue}&to=${encodeURIComponent(future)}`)).json.totalCount).toBe(6);
    const today = new Date().toISOString().slice(0, 10);
    expect((await api(`/jobs?queue=${queue}&from=${today}&to=${today}`)).json.totalCount).toBe(6);

    for (const id of ids) await api(`/jobs/${id}/cancel`, { method: "POST" });
  });

  it("shows list items in the seed's shape", async () => {
    const queue = uniqueQueue();
    const r = await api("/jobs", { body: { type: "echo", name: "Shape", queue } });
    await waitForStatus(r.json.id, ["completed"]);
    const { jobs } = (await api(`/jobs?queue=${queue}`)).json;
    const job = jobs[0];
    for (const key of ["id", "name", "type", "status", "createdAt", "executedAt", "completedAt", "duration", "priority", "retryCount", "maxRetries"]) {
      expect(job).toHaveProperty(key);
    }
    expect(job.duration).toMatch(/^\d{2}:\d{2}:\d{2}(\.\d{3})?$/);
    expect(typeof job.durationMs).toBe("number");
    expect(job.createdAt).toMatch(/Z$/);
  });
});
