import { HubConnectionState, type HubConnection } from "@microsoft/signalr";
import WebSocket from "ws";
import { describe, expect, it, type TestContext } from "vitest";
import { baseUrl, token, waitFor } from "./client";
import { createJob, hubConnection, uniqueQueue } from "./realtime-clients";

const RS = "\u001e";
/** A started connection, stopped when its test ends (the test's own hook: these tests run concurrently). */
async function started({ onTestFinished }: TestContext, path: string, tok?: string | null) {
  const c = hubConnection(path, tok);
  onTestFinished(() => c.stop());
  await c.start();
  return c;
}

type StatusCall = { jobId: string; status: string; details: any };
function recordStatus(c: HubConnection) {
  const calls: StatusCall[] = [];
  c.on("JobStatusChanged", (jobId: string, status: string, details: any) => calls.push({ jobId, status, details }));
  return calls;
}

// Concurrent, so the other tests run during the 60-second idle one.
describe.concurrent("SignalR hubs (@microsoft/signalr client, real wrangler dev)", () => {
  it("stays connected across 60 idle seconds (pings answered while the hub hibernates) and still gets the next event", { timeout: 120_000 }, async (ctx) => {
    const queue = uniqueQueue();
    const hub = await started(ctx, "/api/tickerq/hub");
    const calls = recordStatus(hub);
    let closed: unknown = null;
    hub.onclose((err) => (closed = err ?? "closed"));
    await hub.invoke("JoinGroup", `queue:${queue}`);

    await new Promise((r) => setTimeout(r, 65_000));
    expect(closed).toBeNull();
    expect(hub.state).toBe(HubConnectionState.Connected);

    const job = await createJob(queue);
    await waitFor(async () => calls.find((c) => c.jobId === job.id && c.status === "completed"));
  });

  it("/api/tickerq/hub: a queue group gets JobStatusChanged pending → running → completed in order, and MetricsUpdated", async (ctx) => {
    const queue = uniqueQueue();
    const hub = await started(ctx, "/api/tickerq/hub");
    const calls = recordStatus(hub);
    const metrics: any[] = [];
    hub.on("MetricsUpdated", (m) => metrics.push(m));
    await hub.invoke("JoinGroup", `queue:${queue}`);

    const job = await createJob(queue);
    await waitFor(async () => calls.find((c) => c.jobId === job.id && c.status === "completed"));
    expect(calls.map((c) => [c.details.previousStatus, c.status])).toEqual([
      [null, "pending"],
      ["pending", "running"],
      ["running", "completed"],
    ]);
    expect(calls[2].details).toMatchObject({ jobId: job.id, queue, status: "completed", result: { echo: "live", attempt: 1 } });
    await waitFor(async () => metrics.find((m) => m.name === queue && m.completedJobs === 1));
    expect(metrics.every((m) => m.name === queue)).toBe(true);
  });

  it("a queue group receives nothing from another queue; job-updates receives all", async (ctx) => {
    const mine = uniqueQueue("mine");
    const other = uniqueQueue("other");
    const filtered = await started(ctx, "/api/tickerq/hub");
    const everything = await started(ctx, "/api/tickerq/hub");
    const got = recordStatus(filtered);
    const all = recordStatus(everything);
    await filtered.invoke("JoinGroup", `queue:${mine}`);
    await everything.invoke("JoinGroup", "job-updates");

    const noise = await createJob(other);
    await waitFor(async () => all.find((c) => c.jobId === noise.id && c.status === "completed"));
    const job = await createJob(mine);
    await waitFor(async () => got.find((c) => c.jobId === job.id && c.status === "completed"));
    expect(got.filter((c) => c.details.queue !== mine)).toEqual([]);
    await waitFor(async () => all.find((c) => c.jobId === job.id && c.status === "completed"));

    await filtered.invoke("LeaveGroup", `queue:${mine}`);
    const after = await createJob(mine);
    await waitFor(async () => all.find((c) => c.jobId === after.id && c.status === "completed"));
    expect(got.filter((c) => c.jobId === after.id)).toEqual([]);
  });

  it("/hubs/job-progress: SubscribeToJob brings JobProgress and JobCompleted, or JobFailed, with numeric statuses", async (ctx) => {
    const hub = await started(ctx, "/hubs/job-progress");
    const events: { name: string; data: any }[] = [];
    for (const name of ["JobProgress", "JobCompleted", "JobFailed"]) hub.on(name, (data) => events.push({ name, data }));

    const job = await createJob(uniqueQueue(), { message: "slow", sleepMs: 1500, progressSteps: 3 });
    await hub.invoke("SubscribeToJob", job.id);
    await waitFor(async () => events.find((e) => e.name === "JobCompleted"));
    const progress = events.filter((e) => e.name === "JobProgress").map((e) => e.data);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ jobId: job.id, status: 2, progress: 100, message: "step 3 of 3" });
    expect(events.at(-1)!.data).toMatchObject({ jobId: job.id, status: 3, result: { echo: "slow", attempt: 1 } });

    const failing = await createJob(uniqueQueue(), { fail: true, sleepMs: 500 }, { maxRetries: 0 });
    await hub.invoke("SubscribeToJob", failing.id);
    const failed = await waitFor(async () => events.find((e) => e.name === "JobFailed"));
    expect(failed.data).toMatchObject({ jobId: failing.id, status: 4 });
  });

  it("a bad invocation gets an error completion and the connection stays usable", async (ctx) => {
    const queue = uniqueQueue();
    const hub = await started(ctx, "/api/tickerq/hub");
    const calls = recordStatus(hub);
    await expect(hub.invoke("JoinGroup", "no-such-group")).rejects.toThrow(/not valid here/);
    await expect(hub.invoke("JoinGroup")).rejects.toThrow(/expects 1/);
    await expect(hub.invoke("JoinGroup", 42)).rejects.toThrow(/must be a string/);
    await expect(hub.invoke("DropTables", "x")).rejects.toThrow(/Method does not exist/);
    expect(hub.state).toBe(HubConnectionState.Connected);

    await hub.invoke("joingroup", `queue:${queue}`);
    const job = await createJob(queue);
    await waitFor(async () => calls.find((c) => c.jobId === job.id && c.status === "completed"));
  });

  it("refuses a missing or invalid token at negotiate and at the upgrade", async (ctx) => {
    await expect(started(ctx, "/api/tickerq/hub", null)).rejects.toThrow(/401/);
    await expect(started(ctx, "/hubs/job-progress", "nope")).rejects.toThrow(/401/);
    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/hubs/job-progress?access_token=nope`);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
    expect(upgrade).toBe(401);
  });

  it("speaks the wire protocol: negotiate v1, the handshake, pings and unsupported protocols", async () => {
    const neg = await fetch(`${baseUrl()}/api/tickerq/hub/negotiate?negotiateVersion=1`, { method: "POST", headers: { authorization: `Bearer ${token()}` } });
    const body = await neg.json();
    expect(body).toMatchObject({ negotiateVersion: 1, connectionId: expect.any(String), connectionToken: expect.any(String) });
    expect(body.availableTransports).toEqual([{ transport: "WebSockets", transferFormats: ["Text"] }]);

    const frames: string[] = [];
    const ws = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/api/tickerq/hub?id=${body.connectionToken}&access_token=${token()}`);
    ws.on("message", (d) => frames.push(d.toString()));
    await new Promise((r) => ws.once("open", r));
    ws.send(`{"protocol":"json","version":1}${RS}`);
    await waitFor(async () => frames.length === 1);
    expect(frames[0]).toBe(`{}${RS}`);
    ws.send(`{"type":6}${RS}`);
    ws.send(`{"type":1,"invocationId":"7","target":"JoinGroup","arguments":["job-updates"]}${RS}`);
    // Once joined, the group's live updates of other tests' jobs may follow: only the first three are ours.
    await waitFor(async () => frames.length >= 3);
    expect(frames.slice(1, 3)).toEqual([`{"type":6}${RS}`, `{"type":3,"invocationId":"7"}${RS}`]);
    ws.close();

    const mp: string[] = [];
    const other = new WebSocket(`${baseUrl().replace(/^http/, "ws")}/api/tickerq/hub?access_token=${token()}`);
    other.on("message", (d) => mp.push(d.toString()));
    const closed = new Promise((r) => other.once("close", r));
    await new Promise((r) => other.once("open", r));
    other.send(`{"protocol":"messagepack","version":1}${RS}`);
    await closed;
    expect(mp).toEqual([`{"error":"The protocol 'messagepack' is not supported."}${RS}`]);
  });

});
