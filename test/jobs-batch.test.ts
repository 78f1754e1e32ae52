import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitFor } from "./helpers";

/** Every job, live or archived, as the list counts them. */
const jobCount = async () => (await api("/jobs?limit=1")).json.totalCount as number;

describe("POST /jobs/batch", () => {
  it("creates 1,000 jobs in request order and runs them all", async () => {
    const queue = uniqueQueue("batch");
    await api(`/queues/${queue}`, { method: "PATCH", body: { workers: 50 } });
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ type: "echo", name: `b${i}`, parameters: { message: i }, queue }));
    const res = await api("/jobs/batch", { body: { jobs } });
    expect(res.status).toBe(201);
    expect(res.json.count).toBe(1000);
    expect(res.json.jobs.map((j: any) => j.name)).toEqual(jobs.map((j) => j.name));
    expect(new Set(res.json.jobs.map((j: any) => j.id)).size).toBe(1000);
    const done = await waitFor(async () => {
      const r = await api(`/jobs?queue=${queue}&status=completed&limit=1`);
      return r.json.totalCount === 1000 ? r.json : null;
    }, 60_000, 250);
    expect(done.totalCount).toBe(1000);
    // Every job ran exactly one attempt.
    const pages = await Promise.all([0, 500].map((offset) => api(`/jobs?queue=${queue}&limit=500&offset=${offset}`)));
    const attempts = pages.flatMap((p) => p.json.jobs.map((j: any) => j.attempts));
    expect(attempts).toHaveLength(1000);
    expect(attempts.every((n: number) => n === 1)).toBe(true);
  });

  it("is all or nothing: one bad item is a 400 naming its index and field", async () => {
    const queue = uniqueQueue();
    const before = await jobCount();
    const shape = await api("/jobs/batch", { body: { jobs: [{ type: "echo", queue }, { type: "echo", queue, delay: "soon" }, { type: "echo", queue, priority: "asap" }] } });
    expect(shape.status).toBe(400);
    expect(shape.json.error).toBe("validation_error");
    expect(shape.json.details.map((d: any) => d.path)).toEqual(["jobs[1].delay", "jobs[2].priority"]);

    const typed = await api("/jobs/batch", { body: { jobs: [{ type: "echo", queue }, { type: "NoSuch", queue }, { type: "echo", parameters: { sleepMs: -1 }, queue }] } });
    expect(typed.status).toBe(400);
    const paths = typed.json.details.map((d: any) => d.path);
    expect(paths).toEqual(["jobs[1].type", "jobs[2].parameters.sleepMs"]);
    expect(await jobCount()).toBe(before);
  });

  it("refuses an empty batch, more than 1,000 jobs and a non-array", async () => {
    const before = await jobCount();
    expect((await api("/jobs/batch", { body: { jobs: [] } })).status).toBe(400);
    expect((await api("/jobs/batch", { body: { jobs: Array.from({ length: 1001 }, () => ({ type: "echo" })) } })).status).toBe(400);
    expect((await api("/jobs/batch", { body: { jobs: { type: "echo" } } })).status).toBe(400);
    expect((await api("/jobs/batch", { body: [{ type: "echo" }] })).status).toBe(400);
    expect(await jobCount()).toBe(before);
  });

  it("honours per-item idempotency keys", async () => {
    const queue = uniqueQueue();
    const key = `k-${crypto.randomUUID()}`;
    const first = await api("/jobs/batch", { body: { jobs: [{ type: "echo", delay: "01:00:00", queue, idempotencyKey: key }, { type: "echo", delay: "01:00:00", queue }] } });
    expect(first.status).toBe(201);
    const second = await api("/jobs/batch", { body: { jobs: [{ type: "echo", delay: "01:00:00", queue, idempotencyKey: key }] } });
    expect(second.status).toBe(201);
    expect(second.json.jobs[0].id).toBe(first.json.jobs[0].id);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(2);
    const conflict = await api("/jobs/batch", { body: { jobs: [{ type: "echo", name: "other", queue, idempotencyKey: key }] } });
    expect(conflict.status).toBe(409);
    expect(conflict.json.details[0].path).toBe("jobs[0]");
  });

  it("spreads a batch over several queues", async () => {
    const [a, b] = [uniqueQueue(), uniqueQueue()];
    const res = await api("/jobs/batch", { body: { jobs: [{ type: "echo", queue: a }, { type: "echo", queue: b }, { type: "echo", queue: a }] } });
    expect(res.json.jobs.map((j: any) => j.queue)).toEqual([a, b, a]);
    await waitFor(async () => (await api(`/jobs?queue=${a}&status=completed`)).json.totalCount === 2 && (await api(`/jobs?queue=${b}&status=completed`)).json.totalCount === 1);
  });
});
