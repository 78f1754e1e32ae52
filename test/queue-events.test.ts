import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import * as publisher from "../src/events/publisher";
import { api, uniqueQueue } from "./helpers";

vi.mock("../src/events/publisher", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/events/publisher")>();
  return { ...actual, deliverEvents: vi.fn(actual.deliverEvents), eventStatements: vi.fn(actual.eventStatements) };
});

// The services are loaded afresh (the Worker's own copy was loaded before the mock) and called
// directly, so that they publish through the mocked module.
let actions: typeof import("../src/services/queue-actions");
beforeAll(async () => {
  vi.resetModules();
  actions = await import("../src/services/queue-actions");
});

const delivered = () => vi.mocked(publisher.deliverEvents).mock.calls.flatMap(([, events]) => events);
const committed = () => vi.mocked(publisher.eventStatements).mock.calls.flatMap(([, guarded]) => guarded.map((g) => g.event));

describe("queue events", () => {
  beforeEach(() => {
    vi.mocked(publisher.deliverEvents).mockClear();
    vi.mocked(publisher.eventStatements).mockClear();
  });

  it("pause and resume emit queue.paused / queue.resumed once per change, committed with the queue row and then delivered", async () => {
    const queue = uniqueQueue();
    await actions.configureQueue(env, queue, {}, null);
    expect(delivered()).toEqual([]);

    await actions.setQueuePaused(env, queue, true);
    await actions.setQueuePaused(env, queue, true);
    await actions.setQueuePaused(env, queue, false);
    const events = delivered();
    expect(events.map((e) => e.type)).toEqual(["queue.paused", "queue.resumed"]);
    expect(events[0].data).toEqual({ queue, status: "paused" });
    expect(events[1].data).toEqual({ queue, status: "running" });
    expect(committed().map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("clear emits queue.cleared with the exact counts", async () => {
    const queue = uniqueQueue();
    await actions.configureQueue(env, queue, {}, null);
    await actions.setQueuePaused(env, queue, true);
    await api("/jobs/batch", { body: { jobs: Array.from({ length: 4 }, () => ({ type: "echo", queue })) } });
    vi.mocked(publisher.deliverEvents).mockClear();
    vi.mocked(publisher.eventStatements).mockClear();
    const result = await actions.clearQueue(env, queue, { clearPending: true, clearFailed: true });
    expect(result).toEqual({ queue, clearedPending: 4, clearedFailed: 0, hasMore: false });
    const events = delivered();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "queue.cleared", data: { queue, clearedPending: 4, clearedFailed: 0 } });
    expect(committed().map((e) => e.id)).toEqual([events[0].id]);
  });

  it("an unknown queue emits nothing", async () => {
    await expect(actions.setQueuePaused(env, uniqueQueue(), true)).rejects.toMatchObject({ status: 400, code: "unknown_queue" });
    expect(delivered()).toEqual([]);
    expect(committed()).toEqual([]);
  });
});
