import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushLive } from "../src/scheduler/client";
import { api, targetCalls, targetUrl, uniqueQueue, waitFor } from "./helpers";
import { webhookFactory } from "./webhook-helpers";

const createWebhook = webhookFactory();

const one = async (sql: string, ...params: unknown[]) => env.DB.prepare(sql).bind(...params).first();

describe("archive through the queue's object", () => {
  it("archives finished jobs once: one row each, counted once in job_counts and the rollups, whatever the flushes", async () => {
    const queue = uniqueQueue("arch");
    const ids: string[] = [];
    const res = await api("/jobs/batch", {
      body: { jobs: Array.from({ length: 12 }, (_, i) => ({ type: "echo", name: `archived ${i}`, queue, parameters: i === 0 ? { logLines: 2 } : {} })) },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    for (const j of res.json.jobs) ids.push(j.id);
    expect(ids).toHaveLength(12);

    await waitFor(async () => {
      await flushLive(env, queue);
      const row = await one(`SELECT COUNT(*) AS n FROM jobs WHERE queue = ?1 AND status = 'completed'`, queue);
      return (row as { n: number }).n === 12 ? true : null;
    }, 20_000);
    await flushLive(env, queue);
    await flushLive(env, queue);

    expect(await one(`SELECT n FROM job_counts WHERE queue = ?1 AND status = 'completed'`, queue)).toEqual({ n: 12 });
    expect(await one(`SELECT completed FROM job_totals WHERE queue = ?1`, queue)).toEqual({ completed: 12 });
    expect(await one(`SELECT COUNT(*) AS n FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(?1))`, JSON.stringify(ids))).toEqual({ n: 0 });
    expect(await one(`SELECT COUNT(*) AS n FROM job_log_pages WHERE job_id = ?1`, ids[0])).toEqual({ n: 1 });

    // Read back through the API: the archived job with its packed log lines and its single attempt.
    const job = await api(`/jobs/${ids[0]}`);
    expect(job.status).toBe(200);
    expect(job.json).toMatchObject({ id: ids[0], status: "completed" });
    const logs = await api(`/jobs/${ids[0]}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.json.logs.map((l: { message: string; attempt: number }) => [l.attempt, l.message])).toEqual([
      [1, "echo line 1"],
      [1, "echo line 2"],
    ]);
  });

  it("sends a finished job's webhook from the outbox row its archive flush wrote, once", async () => {
    const queue = uniqueQueue("archhook");
    const tag = `arch-${queue}`;
    await createWebhook({ url: `${targetUrl()}/record/${tag}`, events: ["job.completed"], filters: { queues: [queue] } });
    const res = await api("/jobs", { body: { type: "echo", name: "hooked", queue, parameters: {} } });
    expect(res.status).toBe(201);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(tag);
      return calls.length ? calls : null;
    }, 20_000);
    expect(JSON.parse(call.body)).toMatchObject({ event: "job.completed", data: { jobId: res.json.id, queue } });
    await flushLive(env, queue);
    expect(await one(`SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event_type = 'job.completed' AND instr(payload, ?1) > 0`, res.json.id)).toEqual({ n: 1 });
    expect((await targetCalls(tag)).calls).toHaveLength(1);
  });
});
