import { describe, expect, it } from "vitest";
import { installEventSinks } from "../src/events/publisher";
import type { DomainEvent } from "../src/model/events";
import { LivePublisher } from "../src/scheduler/live-publisher";
import { LIVE_PUBLISH_MS } from "../src/scheduler/queue-scheduler";
import { uniqueQueue } from "./helpers";
import { completed, newJob, withObject } from "./live-helpers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const event = (n: number) => ({ id: `e${n}`, type: "job.created", timestamp: new Date().toISOString(), data: { n } }) as unknown as DomainEvent;

describe("LivePublisher", () => {
  it("sends the events raised within its window as one batch, in order, and a later event in the next batch", async () => {
    const batches: number[][] = [];
    const kept: Promise<void>[] = [];
    const live = new LivePublisher(async (events) => void batches.push(events.map((e) => (e.data as { n: number }).n)), (p) => kept.push(p), 20);
    live.publish([event(1)]);
    live.publish([event(2), event(3)]);
    live.publish([]);
    await sleep(5);
    live.publish([event(4)]);
    expect(batches).toEqual([]);
    await Promise.all(kept);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    live.publish([event(5)]);
    await Promise.all(kept);
    expect(batches).toEqual([[1, 2, 3, 4], [5]]);
  });

  it("does not start a batch before the previous one was handed over: events raised meanwhile wait and go together, after it", async () => {
    const order: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const kept: Promise<void>[] = [];
    let first = true;
    const live = new LivePublisher(
      async (events) => {
        order.push(events.map((e) => (e.data as { n: number }).n).join(","));
        if (first) {
          first = false;
          await slow;
        }
      },
      (p) => kept.push(p),
      5,
    );
    live.publish([event(1)]);
    await sleep(15);
    live.publish([event(2)]);
    await sleep(15);
    live.publish([event(3)]);
    await sleep(15);
    expect(order).toEqual(["1"]);
    release();
    await Promise.all(kept);
    expect(order).toEqual(["1", "2,3"]);
  });

  it("sends at once what is published now, with whatever waits, still after the batch being sent", async () => {
    const batches: number[][] = [];
    const kept: Promise<void>[] = [];
    const live = new LivePublisher(async (events) => void batches.push(events.map((e) => (e.data as { n: number }).n)), (p) => kept.push(p), 10_000);
    live.publish([event(1)]);
    live.publish([event(2)], { now: true });
    await Promise.all(kept);
    expect(batches).toEqual([[1, 2]]);
    live.publish([event(3)], { now: true });
    live.publish([event(4)]);
    await Promise.all(kept);
    expect(batches).toEqual([[1, 2], [3, 4]]);
  });

  it("keeps sending after a delivery fails", async () => {
    const sent: number[] = [];
    const kept: Promise<void>[] = [];
    let fail = true;
    const live = new LivePublisher(
      async (events) => {
        if (fail) {
          fail = false;
          throw new Error("sink down");
        }
        sent.push(...events.map((e) => (e.data as { n: number }).n));
      },
      (p) => kept.push(p),
      1,
    );
    live.publish([event(1)]);
    await Promise.all(kept);
    live.publish([event(2)]);
    await Promise.all(kept);
    expect(sent).toEqual([2]);
  });
});

describe("QueueScheduler live events", () => {
  it("publishes the events of concurrent creates, claims and finishes in a few batches, each job's in the order they happened", async () => {
    const batches: DomainEvent[][] = [];
    installEventSinks([{ name: "recorder", deliver: async (_env, events) => void batches.push(events) }]);
    try {
      const queue = uniqueQueue();
      await withObject(queue, async (object, sent) => {
        await object.configure({ queue, workers: 100 });
        await Promise.all(Array.from({ length: 20 }, () => object.create({ queue, jobs: [newJob(queue)] })));
        await Promise.all(
          sent.splice(0).map(async (m) => {
            const { claimed } = await object.claim({ queue, token: m.token, jobs: m.jobs });
            await object.finish({ queue, ended: claimed.map((j) => completed(j.id, j.attempt)) });
          }),
        );
        await sleep(LIVE_PUBLISH_MS * 3);
        const events = batches.flat();
        expect(events.filter((e) => e.type === "job.created")).toHaveLength(20);
        expect(events.filter((e) => e.type === "job.completed")).toHaveLength(20);
        // Three state changes for each of 20 jobs, made within a few ms: a batch or two, not one per change.
        expect(batches.length).toBeLessThanOrEqual(3);
        const byJob = new Map<string, string[]>();
        for (const e of events) {
          const id = (e.data as { jobId: string }).jobId;
          byJob.set(id, [...(byJob.get(id) ?? []), e.type]);
        }
        for (const types of byJob.values()) expect(types).toEqual(["job.created", "job.started", "job.completed"]);
      });
    } finally {
      installEventSinks([]);
    }
  });
});
