import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { schedulerFor } from "../src/scheduler/client";
import { CHAIN_HOLD_MS } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";
import { completed, newJob, storedRows, withObject } from "./live-helpers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("QueueScheduler: a consumer invocation takes more jobs", () => {
  it("finish with `take` claims due jobs within the slots, in the same journal row as the ends", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent, state) => {
      await object.configure({ queue, workers: 2 });
      const jobs = [newJob(queue), newJob(queue), newJob(queue), newJob(queue)];
      await object.create({ queue, jobs });
      expect(sent.flatMap((m) => m.jobs.map(([id]) => id))).toEqual([jobs[0].id, jobs[1].id]);
      const [message] = sent.splice(0);
      const { claimed } = await object.claim({ queue, token: message.token, jobs: message.jobs });
      expect(claimed).toHaveLength(2);

      const rowsBefore = storedRows(state.storage.sql);
      // Room for 5, but the two ending attempts free only two slots.
      const out = await object.finish({ queue, ended: claimed.map((j) => completed(j.id, j.attempt)), take: 5 });
      expect(out.statuses).toEqual({ [jobs[0].id]: "completed", [jobs[1].id]: "completed" });
      expect(out.next?.map((j) => [j.id, j.status, j.attempt])).toEqual([
        [jobs[2].id, "running", 1],
        [jobs[3].id, "running", 1],
      ]);
      expect(out.next?.[0].leaseUntil).toBeGreaterThan(Date.now());
      expect(storedRows(state.storage.sql) - rowsBefore).toBe(1);
      expect((await object.status()).inflight).toBe(2);
      // They run in the caller's invocation: nothing was sent for them.
      await object.alarm();
      expect(sent).toEqual([]);
      const again = await object.finish({ queue, ended: out.next!.map((j) => completed(j.id, j.attempt)), take: 5 });
      expect(again.next).toEqual([]);
      expect((await object.status()).inflight).toBe(0);
    });
  });

  it("takes a dispatched job whose message has not been claimed; the message then claims nothing", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      const [a, b] = [newJob(queue), newJob(queue)];
      await object.create({ queue, jobs: [a, b] });
      const [message] = sent.splice(0);
      expect(message.jobs).toEqual([[a.id, 0], [b.id, 0]]);
      const [claimedA] = (await object.claim({ queue, token: message.token, jobs: [[a.id, 0]] })).claimed;
      const out = await object.finish({ queue, ended: [completed(a.id, claimedA.attempt)], take: 1 });
      expect(out.next?.map((j) => j.id)).toEqual([b.id]);
      expect((await object.claim({ queue, token: message.token, jobs: [[b.id, 0]] })).claimed).toEqual([]);
      expect((await object.status()).inflight).toBe(1);
    });
  });

  it("takes nothing while the queue is paused or its rate limit is used up", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      await object.configure({ queue, rateLimit: { limit: 1, intervalMs: 60_000 } });
      const [a, b] = [newJob(queue), newJob(queue)];
      await object.create({ queue, jobs: [a, b] });
      const [message] = sent.splice(0);
      expect(message.jobs).toEqual([[a.id, 0]]);
      const [claimedA] = (await object.claim({ queue, token: message.token, jobs: message.jobs })).claimed;
      const out = await object.finish({ queue, ended: [completed(a.id, claimedA.attempt)], take: 10 });
      expect(out).toEqual({ statuses: { [a.id]: "completed" }, next: [] });

      await object.configure({ queue, rateLimit: null });
      await object.pause({ queue });
      expect((await object.next({ queue, take: 10, waitMs: 0 })).next).toEqual([]);
      await object.resume({ queue });
      expect((await object.next({ queue, take: 10, waitMs: 0 })).next.map((j) => j.id)).toEqual([b.id]);
    });
  });

  it("`next` waits for a job created meanwhile and claims it, and comes back empty when none comes in time", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      const t0 = Date.now();
      expect((await object.next({ queue, take: 3, waitMs: 50 })).next).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);

      const waiting = object.next({ queue, take: 3, waitMs: 5000 });
      await sleep(20);
      const job = newJob(queue);
      await object.create({ queue, jobs: [job] });
      const { next } = await waiting;
      expect(next.map((j) => [j.id, j.status])).toEqual([[job.id, "running"]]);
      expect(sent).toEqual([]);
    });
  });

  it("holds due jobs for a taking invocation's next ask for CHAIN_HOLD_MS, and not after a finish without `take`", async () => {
    const queue = uniqueQueue();
    await withObject(queue, async (object, sent) => {
      // The object's clock stands still until the test moves it: on a busy machine a create can
      // take longer than the hold itself.
      const held = newJob(queue);
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
      try {
        expect((await object.next({ queue, take: 1, waitMs: 0 })).next).toEqual([]);
        await object.create({ queue, jobs: [held] });
        expect(sent).toEqual([]);
        vi.setSystemTime(Date.now() + CHAIN_HOLD_MS + 5);
        await object.alarm();
        expect(sent.flatMap((m) => m.jobs)).toEqual([[held.id, 0]]);
      } finally {
        vi.useRealTimers();
      }
      const [message] = sent.splice(0);
      const [claimed] = (await object.claim({ queue, token: message.token, jobs: message.jobs })).claimed;

      // The invocation's chain is over: its last finish asks for nothing, and a new job goes out at once.
      expect((await object.next({ queue, take: 1, waitMs: 0 })).next).toEqual([]);
      await object.finish({ queue, ended: [completed(held.id, claimed.attempt)] });
      const next = newJob(queue);
      await object.create({ queue, jobs: [next] });
      expect(sent.flatMap((m) => m.jobs)).toEqual([[next.id, 0]]);
    });
  });

  it("refuses a bad take or wait with zod", async () => {
    const queue = uniqueQueue();
    const stub = schedulerFor(env, queue);
    const failure = (call: Promise<unknown>) => call.then(() => null, (err: unknown) => String(err));
    expect(await failure(stub.finish({ queue, ended: [], take: 0 }))).toContain("ZodError");
    expect(await failure(stub.next({ queue, take: 0, waitMs: 10 }))).toContain("ZodError");
    expect(await failure(stub.next({ queue, take: 1, waitMs: 60_000 }))).toContain("ZodError");
    expect((await stub.stats({ queue })).running).toBe(0);
  });
});
