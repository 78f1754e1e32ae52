import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { jobEventData, makeEvent } from "../src/model/events";

// A fresh copy of the modules, so installing sinks here leaves the Worker's own publisher alone.
let publisher: typeof import("../src/events/publisher");
let edgeTicker: typeof import("../src/edge-ticker");
beforeAll(async () => {
  vi.resetModules();
  publisher = await import("../src/events/publisher");
  edgeTicker = await import("../src/edge-ticker");
});

const completed = () => {
  const job = { id: "job_publisher", type: "echo", name: "echo", queue: "default", priority: 1, attempt: 1, retryCount: 0, maxRetries: 3, runAt: 1, executedAt: 1 };
  const event = makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: 2 }));
  return [{ event, guard: publisher.jobStateGuard("job_publisher", "completed", 1, 1) }];
};

describe("event publisher", () => {
  it("knows no sink of its own: until the entry point installs them, events go nowhere", async () => {
    publisher.installEventSinks([]);
    expect(publisher.eventStatements(env, completed())).toEqual([]);
    await expect(publisher.deliverEvents(env, completed().map((g) => g.event))).resolves.toBeUndefined();
  });

  it("sends every event to the installed sinks, replacing those installed before, and survives a sink that fails", async () => {
    const seen: string[] = [];
    const statement = env.DB.prepare("SELECT 1");
    publisher.installEventSinks([{ name: "first", statements: () => [env.DB.prepare("SELECT 2")] }]);
    publisher.installEventSinks([
      { name: "recording", statements: (_env, events) => (seen.push(...events.map((e) => e.event.type)), [statement]), deliver: async (_env, events) => void seen.push(...events.map((e) => `delivered ${e.type}`)) },
      { name: "broken", deliver: async () => Promise.reject(new Error("sink down")) },
    ]);
    const guarded = completed();
    expect(publisher.eventStatements(env, guarded)).toEqual([statement]);
    await publisher.deliverEvents(env, [guarded[0].event]);
    expect(seen).toEqual(["job.completed", "delivered job.completed"]);
  });

  it("createEdgeTicker composes the rollup, webhook and realtime sinks", async () => {
    publisher.installEventSinks([]);
    edgeTicker.createEdgeTicker();
    // The rollup and webhook sinks each add statements to a lifecycle event's transaction.
    const statements = publisher.eventStatements(env, completed());
    expect(statements.length).toBeGreaterThanOrEqual(2);
  });
});
