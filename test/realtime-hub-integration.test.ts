import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CONNECT_HEADER, type ConnectInit } from "../src/realtime/connection";
import type { RealtimeHub } from "../src/realtime/hub";
import type { Draft } from "../src/realtime/messages";
import { METRICS_INTERVAL_MS, QueueMetrics } from "../src/realtime/queue-metrics";
import { REPLAY_LIMIT } from "../src/realtime/replay-buffer";
import { RS } from "../src/realtime/signalr-protocol";
import { ADMIN, api, BASE, uniqueQueue, waitFor } from "./helpers";

/** A hub instance of its own, so tests do not see each other's messages. */
const freshHub = () => env.REALTIME_HUB.get(env.REALTIME_HUB.idFromName(`test-${crypto.randomUUID()}`));
type Hub = ReturnType<typeof freshHub>;

const ADMIN_KEY = { id: "admin-token", expiresAt: null, capped: false };
type Init = DistributiveOmit<ConnectInit, "key"> & { key?: ConnectInit["key"] };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

async function connect(hub: Hub, init: Init) {
  const res = await hub.fetch("https://hub/connect", { headers: { upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify({ key: ADMIN_KEY, ...init }) } });
  const ws = res.webSocket!;
  const frames: string[] = [];
  ws.accept();
  ws.addEventListener("message", (e) => frames.push(String(e.data)));
  return { ws, frames, json: () => frames.map((f) => JSON.parse(f)) };
}

const draft = (n: number, queue = "mail"): Draft => ({ topic: "job-status", data: { n }, timestamp: new Date().toISOString(), queue, jobId: `job_${n}`, jobType: "echo" });
const failure = (call: Promise<unknown>) => call.then(() => null, (err: unknown) => err);

describe("RealtimeHub", () => {
  it("numbers messages and replays exactly what came after `since`, through the subscription's filter", async () => {
    const hub = freshHub();
    expect(await hub.publish({ messages: [draft(1), draft(2, "sms"), draft(3)], queues: [] })).toEqual({ seq: 3 });
    const sub = await connect(hub, { kind: "topics", subs: [{ topic: "job-status", filter: { queue: ["mail"] } }], since: 1 });
    await waitFor(async () => sub.frames.length >= 2);
    const [hello, replayed] = sub.json();
    expect(hello).toMatchObject({ type: "connected", data: { latestSeq: 3, oldestSeq: 1, replayLimit: REPLAY_LIMIT } });
    expect(replayed).toMatchObject({ type: "job-status-changed", seq: 3, data: { n: 3 } });

    await hub.publish({ messages: [draft(4, "sms"), draft(5)], queues: [] });
    await waitFor(async () => sub.frames.length === 3);
    expect(sub.json()[2]).toMatchObject({ seq: 5, data: { n: 5 } });
    sub.ws.close();
  });

  it("keeps the latest REPLAY_LIMIT messages and says when a gap is older than that", async () => {
    const hub = freshHub();
    const total = REPLAY_LIMIT + 5;
    for (let i = 0; i < total; i += 1000) {
      await hub.publish({ messages: Array.from({ length: Math.min(1000, total - i) }, (_, k) => draft(i + k + 1)), queues: [] });
    }
    const sse = await connect(hub, { kind: "sse", subs: [{ topic: "job-status", filter: {} }], since: 2 });
    await waitFor(async () => sse.frames.length === REPLAY_LIMIT + 1, 30_000);
    const notice = JSON.parse(sse.frames[0].replace(/^data: /, ""));
    expect(notice).toMatchObject({ type: "replay-gap", data: { since: 2, oldestSeq: 6, latestSeq: total } });
    expect(sse.frames[1]).toMatch(/^id: 6\ndata: \{"type":"job-status-changed"/);
    expect(sse.frames.at(-1)).toMatch(new RegExp(`^id: ${total}\\n`));

    const current = await connect(hub, { kind: "topics", subs: [{ topic: "job-status", filter: {} }], since: total });
    await waitFor(async () => current.frames.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(current.json().map((m) => m.type)).toEqual(["connected"]);
    sse.ws.close();
    current.ws.close();
  });

  it("refuses malformed publish input", async () => {
    const hub = freshHub();
    expect(String(await failure(hub.publish({ messages: [{ ...draft(1), topic: "nope" as never }], queues: [] })))).toContain("ZodError");
    expect(String(await failure(hub.publish({ messages: [], queues: ["bad name"] })))).toContain("ZodError");
    expect(await hub.publish({ messages: [], queues: [] })).toEqual({ seq: 0 });
  });

  it("sends SignalR invocations only after the handshake, and only for joined groups", async () => {
    const hub = freshHub();
    const c = await connect(hub, { kind: "signalr", hub: "tickerq", connectionId: "c1" });
    await hub.publish({ messages: [draft(1)], queues: [] });
    c.ws.send(`{"protocol":"json","version":1}${RS}`);
    await waitFor(async () => c.frames.length === 1);
    expect(c.frames).toEqual([`{}${RS}`]);

    await hub.publish({ messages: [draft(2)], queues: [] });
    c.ws.send(`{"type":1,"invocationId":"1","target":"JoinGroup","arguments":["queue:mail"]}${RS}`);
    await waitFor(async () => c.frames.length === 2);
    expect(c.frames[1]).toBe(`{"type":3,"invocationId":"1"}${RS}`);

    await hub.publish({ messages: [draft(3, "sms"), draft(4)], queues: [] });
    await waitFor(async () => c.frames.length === 3);
    expect(JSON.parse(c.frames[2].slice(0, -1))).toMatchObject({ type: 1, target: "JobStatusChanged", arguments: ["job_4", null, { n: 4 }] });
    c.ws.close();
  });
});

describe("the live path, end to end in the Worker", () => {
  it("relays a job's messages from the primary hub to a SignalR client of the Worker's hub route, in order", async () => {
    const queue = uniqueQueue();
    const res = await exports.default.fetch(new Request(`${BASE}/hub?access_token=${ADMIN}`, { headers: { upgrade: "websocket" } }));
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const frames: string[] = [];
    ws.accept();
    ws.addEventListener("message", (e) => frames.push(...String(e.data).split(RS).filter(Boolean)));
    ws.send(`{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"JoinGroup","arguments":["queue:${queue}"]}${RS}`);
    await waitFor(async () => frames.length === 2);
    expect(frames).toEqual(["{}", `{"type":3,"invocationId":"1"}`]);

    const created = await api("/jobs", { body: { type: "echo", queue, parameters: { message: "relay" } } });
    const calls = await waitFor(async () => {
      const c = frames.slice(2).map((f) => JSON.parse(f)).filter((m) => m.target === "JobStatusChanged");
      return c.length === 3 ? c : null;
    });
    expect(calls.map((c) => [c.arguments[0], c.arguments[1]])).toEqual([
      [created.json.id, "pending"],
      [created.json.id, "running"],
      [created.json.id, "completed"],
    ]);
    ws.close();
  });
});

describe("queue metrics", () => {
  it("refresh a queue at most once per interval", async () => {
    await runInDurableObject(freshHub(), async (_hub: RealtimeHub, state) => {
      const metrics = new QueueMetrics(state.storage.sql);
      const t = 1_000_000;
      metrics.markDirty(["mail"]);
      expect(metrics.nextDueAt()).toBe(METRICS_INTERVAL_MS);
      expect(metrics.takeDue(t).map((d) => d.queue)).toEqual(["mail"]);
      expect(metrics.nextDueAt()).toBeNull();
      metrics.markDirty(["mail"]);
      expect(metrics.takeDue(t + METRICS_INTERVAL_MS / 2)).toEqual([]);
      expect(metrics.nextDueAt()).toBe(t + METRICS_INTERVAL_MS);
      expect(metrics.takeDue(t + METRICS_INTERVAL_MS).map((d) => d.queue)).toEqual(["mail"]);
    });
  });

  it("send the counts from D1, and only when they changed", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: { type: "echo", queue, delay: "00:10:00" } });
    expect(created.status).toBe(201);
    await runInDurableObject(freshHub(), async (_hub: RealtimeHub, state) => {
      const metrics = new QueueMetrics(state.storage.sql);
      let now = Date.now();
      const refresh = async () => {
        metrics.markDirty([queue]);
        now += METRICS_INTERVAL_MS;
        return metrics.refresh(env, metrics.takeDue(now), now);
      };
      const [first] = await refresh();
      expect(first).toMatchObject({ topic: "queue-metrics", queue, data: { name: queue, status: "running", pendingJobs: 1, runningJobs: 0, workers: 10 } });
      expect(await refresh()).toEqual([]);
      expect((await api(`/jobs/${created.json.id}/cancel`, { method: "POST" })).status).toBe(200);
      const [after] = await refresh();
      expect(after.data).toMatchObject({ pendingJobs: 0 });
    });
  });
});
