import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_CONNECTIONS_PER_KEY, MAX_REPLAYS_PER_KEY_PER_MINUTE, MAX_SUBSCRIPTION_BYTES } from "../src/realtime/connection";
import type { Draft } from "../src/realtime/messages";
import { ReplayBuffer } from "../src/realtime/replay-buffer";
import { boundedTextStream } from "../src/realtime/sse";
import { api, BASE, waitFor } from "./helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");

async function readKey(extra: Record<string, unknown> = {}) {
  const res = await api("/keys", { body: { name: "live reader", scopes: ["tickerq:read"], ...extra } });
  expect(res.status).toBe(201);
  return res.json as { id: string; key: string };
}

/** A WebSocket through the Worker's own route, as a client opens it. */
async function openWs(url: string, token: string) {
  const res = await exports.default.fetch(new Request(url, { headers: { upgrade: "websocket", authorization: `Bearer ${token}` } }));
  if (res.status !== 101) return { status: res.status, body: await res.json<any>() };
  const ws = res.webSocket!;
  const frames: string[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.accept();
  ws.addEventListener("message", (e) => {
    frames.push(String(e.data));
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
  });
  return { status: 101, ws, frames, closed: () => closed };
}

/** An SSE stream through the Worker; `ended` resolves when the server ends it. */
async function openSse(token: string) {
  const res = await exports.default.fetch(new Request(`${BASE}/events?topics=job-status`, { headers: { authorization: `Bearer ${token}` } }));
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) return true;
  })();
  return { ended, cancel: () => reader.cancel() };
}

const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);
const draft = (n: number, size: number): Draft => ({ topic: "job-logs", data: { n, text: "x".repeat(size) }, timestamp: new Date().toISOString(), queue: "q", jobId: `job_${n}`, jobType: "echo" });

describe("live connections and their key", () => {
  it("are closed when the key is revoked: WebSocket, SSE and SignalR", async () => {
    const key = await readKey();
    const ws = await openWs(`${BASE}/ws?topics=job-status`, key.key);
    const hub = await openWs(`${root}/hubs/job-progress`, key.key);
    const sse = await openSse(key.key);
    expect(ws.status).toBe(101);
    expect(hub.status).toBe(101);
    expect((await api(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    await waitFor(async () => ws.closed?.() && hub.closed?.(), 5_000);
    expect(ws.closed!()).toEqual({ code: 1008, reason: "The API key was revoked." });
    expect(hub.closed!()!.code).toBe(1008);
    expect(hub.frames!.at(-1)).toMatch(/"type":7,"error":"Connection closed with an error. The API key was revoked.","allowReconnect":false/);
    expect(await within(sse.ended, 5_000)).toBe(true);
  });

  it("are closed within a few seconds of the key's expiry", async () => {
    const key = await readKey({ expiresAt: new Date(Date.now() + 1_500).toISOString() });
    const ws = await openWs(`${BASE}/ws?topics=job-status`, key.key);
    const sse = await openSse(key.key);
    expect(ws.status).toBe(101);
    await waitFor(async () => ws.closed?.(), 6_000);
    expect(ws.closed!()).toEqual({ code: 1008, reason: "The API key expired." });
    expect(await within(sse.ended, 3_000)).toBe(true);
  });
});

describe("live update caps", () => {
  it(`lets one API key hold at most ${MAX_CONNECTIONS_PER_KEY} connections on a hub`, async () => {
    const key = await readKey();
    const open = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_KEY; i++) {
      const c = await openWs(`${BASE}/ws`, key.key);
      expect(c.status, `connection ${i}`).toBe(101);
      open.push(c);
    }
    const refused = await openWs(`${BASE}/ws`, key.key);
    expect(refused).toMatchObject({ status: 429, body: { error: "too_many_connections" } });
    const sse = await exports.default.fetch(new Request(`${BASE}/events`, { headers: { authorization: `Bearer ${key.key}` } }));
    expect(sse.status).toBe(429);
    // A closed connection frees its place (each attempt also spends one of the key's 25 requests per 10 s in tests).
    open[0].ws!.close(1000, "done");
    await new Promise((r) => setTimeout(r, 300));
    const again = await openWs(`${BASE}/ws`, key.key);
    expect(again.status).toBe(101);
    for (const c of [...open, again]) c.ws!.close(1000, "done");
  });

  it("refuses oversized subscription filters before the upgrade, in the one error shape", async () => {
    const key = await readKey();
    const ids = Array.from({ length: 20 }, (_, i) => `job_${i}_${"x".repeat(60)}`).join(",");
    const query = `?topics=job-status,job-logs,job-progress&jobId=${ids}`;
    const ws = await openWs(`${BASE}/ws${query}`, key.key);
    expect(ws.status).toBe(400);
    expect(ws.body).toMatchObject({ error: "subscription_too_large", message: expect.stringContaining(String(MAX_SUBSCRIPTION_BYTES)) });
    const sse = await exports.default.fetch(new Request(`${BASE}/events${query}`, { headers: { authorization: `Bearer ${key.key}` } }));
    expect(sse.status).toBe(400);
    // A subscribe message past the limit is refused on the open connection, which keeps working.
    const ok = await openWs(`${BASE}/ws?topics=job-status`, key.key);
    ok.ws!.send(JSON.stringify({ action: "subscribe", topics: ["job-logs", "job-progress"], filters: { jobId: ids.split(",") } }));
    await waitFor(async () => ok.frames!.some((f) => f.includes("too_many_subscriptions")), 5_000);
    ok.ws!.send(JSON.stringify({ action: "subscribe", topics: ["job-logs"] }));
    await waitFor(async () => ok.frames!.some((f) => f.includes(`"type":"subscribed"`)), 5_000);
    ok.ws!.close(1000, "done");
  });

  it(`rate limits replays to ${MAX_REPLAYS_PER_KEY_PER_MINUTE} a minute per key`, async () => {
    const key = await readKey();
    const c = await openWs(`${BASE}/ws`, key.key);
    for (let i = 0; i <= MAX_REPLAYS_PER_KEY_PER_MINUTE; i++) c.ws!.send(JSON.stringify({ action: "subscribe", topics: ["job-status"], since: 0 }));
    const limited = await waitFor(async () => c.frames!.map((f) => JSON.parse(f)).find((m) => m.type === "error"), 5_000);
    expect(limited.data).toMatchObject({ error: "replay_rate_limited" });
    expect(c.frames!.map((f) => JSON.parse(f)).filter((m) => m.type === "error")).toHaveLength(1);
    c.ws!.close(1000, "done");
  });

  it("bounds the replay buffer by bytes as well as by count, keeping the newest chunk", async () => {
    const stub = env.REALTIME_HUB.get(env.REALTIME_HUB.idFromName(`bytes-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_instance, state) => {
      const buffer = new ReplayBuffer(state.storage.sql, 50_000);
      for (let n = 1; n <= 40; n++) buffer.append([draft(n, 5_000)]);
      expect(buffer.bytes).toBeLessThanOrEqual(50_000);
      expect(buffer.latestSeq).toBe(40);
      const oldest = buffer.oldestSeq()!;
      expect(oldest).toBeGreaterThan(30);
      const replay = buffer.since(0, () => true);
      expect(replay.kind).toBe("gap");
      expect(replay.messages.map((m) => m.seq)).toEqual(Array.from({ length: 41 - oldest }, (_, i) => oldest + i));
      // The newest chunk stays even when it alone is over the budget.
      buffer.append([draft(41, 80_000)]);
      expect(buffer.oldestSeq()).toBe(41);
      expect(new ReplayBuffer(state.storage.sql, 50_000).bytes).toBe(buffer.bytes);
    });
  });

  it("drops an SSE stream whose client stops reading instead of buffering without end", async () => {
    let stopped = 0;
    const out = boundedTextStream(64 * 1024, () => stopped++);
    for (let i = 0; i < 100 && out.open; i++) out.write(`data: ${"x".repeat(1_000)}\n\n`);
    expect(stopped).toBe(1);
    expect(out.open).toBe(false);
    await expect(out.readable.getReader().read()).rejects.toThrow(/not reading/);
  });
});
