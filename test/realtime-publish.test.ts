import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { makeEvent } from "../src/model/events";
import { REALTIME_PUBLISH_WAIT_MS } from "../src/realtime/sink";
import { BASE } from "./helpers";

// A hub that never answers (overloaded, or stuck behind a client's many sockets).
vi.mock("../src/realtime/client", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/realtime/client")>();
  return { ...actual, publishToHub: vi.fn(() => new Promise<void>(() => {})) };
});
vi.mock("../src/execution/reconciler", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/execution/reconciler")>();
  return { ...actual, reconcileIfDue: vi.fn() };
});

// Loaded afresh after the mocks (the Worker's own copy was loaded before them).
let publisher: typeof import("../src/events/publisher");
let client: typeof import("../src/realtime/client");
let reconciler: typeof import("../src/execution/reconciler");
let worker: typeof import("../src/index").default;
beforeAll(async () => {
  vi.resetModules();
  publisher = await import("../src/events/publisher");
  client = await import("../src/realtime/client");
  reconciler = await import("../src/execution/reconciler");
  worker = (await import("../src/index")).default;
});

describe("live updates off the job path", () => {
  it("a hub that does not answer holds event delivery up for no more than the short wait", async () => {
    const event = makeEvent("job.created", { jobId: "job_slow_hub", queue: "default", jobType: "echo", status: "pending", previousStatus: null });
    const started = Date.now();
    await publisher.deliverEvents(env, [event]);
    const took = Date.now() - started;
    expect(vi.mocked(client.publishToHub)).toHaveBeenCalled();
    expect(took).toBeGreaterThanOrEqual(REALTIME_PUBLISH_WAIT_MS - 20);
    expect(took).toBeLessThan(REALTIME_PUBLISH_WAIT_MS + 750);
  });
});

describe("request-driven reconcile", () => {
  const call = async (vars: Record<string, string>) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${BASE}/health`), { ...env, ...vars }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
  };

  it("runs only when SELF_RECONCILE is on (local development); in production the cron does it", async () => {
    vi.mocked(reconciler.reconcileIfDue).mockClear();
    await call({});
    await call({ SELF_RECONCILE: "false" });
    expect(reconciler.reconcileIfDue).not.toHaveBeenCalled();
    await call({ SELF_RECONCILE: "true" });
    expect(reconciler.reconcileIfDue).toHaveBeenCalledTimes(1);
  });
});
