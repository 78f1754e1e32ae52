import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { IDEMPOTENCY_WINDOW_MS } from "../src/db/jobs";
import { ApiError } from "../src/http/errors";
import { queueTagOf, queueTag } from "../src/scheduler/job-ids";
import { createJobs } from "../src/services/create-jobs";
import { api, uniqueQueue } from "./helpers";
import { liveJob } from "./queue-helpers";

const PRINCIPAL = "engine-create-test";
const echo = (queue: string, message = "hi") => ({ type: "echo", parameters: { message }, priority: "normal" as const, maxRetries: 0, queue, delay: 3_600_000 });
const keyRow = (key: string) =>
  env.DB.prepare("SELECT job_id, request_hash, created_at FROM idempotency_keys WHERE key = ?").bind(`${PRINCIPAL}:${key}`).first<{ job_id: string; request_hash: string; created_at: number }>();

describe("creating jobs in their queues' schedulers", () => {
  it("gives new jobs ids that name their queue, and holds them live, durable once created", async () => {
    const queue = uniqueQueue();
    const [{ job }] = await createJobs(env, PRINCIPAL, [{ request: echo(queue) }], () => [], { limits: null });
    expect(queueTagOf(job.id)).toBe(queueTag(queue));
    expect(await liveJob(job.id)).toMatchObject({ id: job.id, queue, status: "pending", attempt: 0 });
    // Nothing about a job without an idempotency key is written to D1.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE id = ?").bind(job.id).first("n")).toBe(0);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE job_id = ?").bind(job.id).first("n")).toBe(0);
    await api(`/jobs/${job.id}/cancel`, { method: "POST" });
  });

  it("a key whose create failed after it was recorded creates its job on the retry, under the recorded id, once", async () => {
    const queue = uniqueQueue();
    const key = `k-${crypto.randomUUID()}`;
    const unavailable = () => {
      throw new Error("scheduler unavailable");
    };
    const broken = { ...env, QUEUE_SCHEDULER: { idFromName: unavailable, get: unavailable } } as unknown as Env;
    await expect(createJobs(broken, PRINCIPAL, [{ request: echo(queue), idempotencyKey: key }], () => [], { limits: null })).rejects.toThrow(/unavailable/);
    const recorded = await keyRow(key);
    expect(recorded?.job_id).toMatch(/^job_/);

    const [retry] = await createJobs(env, PRINCIPAL, [{ request: echo(queue), idempotencyKey: key }], () => [], { limits: null });
    expect(retry).toMatchObject({ replayed: false, job: { id: recorded!.job_id } });
    const [again] = await createJobs(env, PRINCIPAL, [{ request: echo(queue), idempotencyKey: key }], () => [], { limits: null });
    expect(again).toMatchObject({ replayed: true, job: { id: recorded!.job_id } });
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(1);
    await api(`/jobs/${recorded!.job_id}/cancel`, { method: "POST" });
  });

  it("honours a key for 24 hours: a different request under it is a 409 until then, a new job after", async () => {
    const queue = uniqueQueue();
    const key = `k-${crypto.randomUUID()}`;
    const [first] = await createJobs(env, PRINCIPAL, [{ request: echo(queue, "a"), idempotencyKey: key }], () => [], { limits: null });
    const conflict = await createJobs(env, PRINCIPAL, [{ request: echo(queue, "b"), idempotencyKey: key }], () => [], { limits: null }).catch((e) => e);
    expect(conflict).toBeInstanceOf(ApiError);
    expect(conflict).toMatchObject({ status: 409, code: "idempotency_conflict" });

    await env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE key = ?").bind(Date.now() - IDEMPOTENCY_WINDOW_MS - 1000, `${PRINCIPAL}:${key}`).run();
    const [later] = await createJobs(env, PRINCIPAL, [{ request: echo(queue, "b"), idempotencyKey: key }], () => [], { limits: null });
    expect(later.replayed).toBe(false);
    expect(later.job.id).not.toBe(first.job.id);
    expect((await keyRow(key))?.job_id).toBe(later.job.id);
    for (const id of [first.job.id, later.job.id]) await api(`/jobs/${id}/cancel`, { method: "POST" });
  });

  it("stores nothing, not even the key, for a request that fails validation", async () => {
    const queue = uniqueQueue();
    const key = `k-${crypto.randomUUID()}`;
    const res = await api("/jobs", { body: { type: "echo", parameters: { nope: true }, queue }, headers: { "Idempotency-Key": key } });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("validation_error");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE key LIKE ?").bind(`%:${key}`).first("n")).toBe(0);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
  });

  it("answers a create whose scheduler is unreachable with an error, never a 2xx", async () => {
    const queue = uniqueQueue();
    const unavailable = () => {
      throw new Error("scheduler unavailable");
    };
    const broken = { ...env, QUEUE_SCHEDULER: { idFromName: unavailable, get: unavailable } } as unknown as Env;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await expect(createJobs(broken, PRINCIPAL, [{ request: echo(queue) }], () => [], { limits: null })).rejects.toThrow();
    } finally {
      errors.mockRestore();
    }
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
  });
});
