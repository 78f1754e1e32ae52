import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverEvents } from "../src/events/publisher";
import { makeEvent } from "../src/model/events";
import { toPublishInput } from "../src/realtime/event-mapping";
import { ADMIN, BASE, waitFor } from "./helpers";
import { endpointStatusChange } from "./monitoring-helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");

const change = (endpointId: string, status: "online" | "offline", previousStatus: "online" | "offline" | "unknown", responseTime: number | null) =>
  endpointStatusChange({ endpointId, status, previousStatus, responseTime });

async function openStatusWs(url: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(url, { headers: { upgrade: "websocket", ...headers } }));
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: string[] = [];
  ws.accept();
  ws.addEventListener("message", (e) => {
    frames.push(String(e.data));
  });
  return { ws, frames };
}

async function openStatusSse(url: string) {
  const res = await exports.default.fetch(new Request(url));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  /** What an EventSource's onmessage would get: the data of each event, joined. */
  const messages = () =>
    text
      .split("\n\n")
      .map((block) => block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
      .filter(Boolean)
      .map((d) => JSON.parse(d));
  return { messages, cancel: () => reader.cancel() };
}

describe("seed 002 live status streams", () => {
  it("map an endpoint.status_changed to seed 002's status_update, and nothing else for it", () => {
    const input = toPublishInput([makeEvent("endpoint.status_changed", change("ep-1", "online", "offline", 2.5))]);
    expect(input.queues).toEqual([]);
    expect(input.messages).toEqual([
      { topic: "endpoint-status", data: { endpointId: "ep-1", status: "online", responseTime: 2.5, previousStatus: "offline" }, timestamp: "2024-01-15T10:30:00.000Z", queue: null, jobId: null, jobType: null },
    ]);
    expect(toPublishInput([makeEvent("endpoint.status_changed", { endpointId: 7 })]).messages).toEqual([]);
  });

  it("send every status change published through the publisher to a WebSocket and an EventSource that only listen", async () => {
    const ws = await openStatusWs(`${root}/api/ws/status`, { authorization: `Bearer ${ADMIN}` });
    const sse = await openStatusSse(`${root}/api/events/status?access_token=${ADMIN}`);
    // A job event is not a status update.
    await deliverEvents(env, [makeEvent("job.created", { jobId: "job_x", queue: "default", jobType: "echo", status: "pending", previousStatus: null })]);
    await deliverEvents(env, [makeEvent("endpoint.status_changed", change("ep-live", "offline", "online", null))]);
    await deliverEvents(env, [makeEvent("endpoint.status_changed", change("ep-live", "online", "offline", 2.5))]);
    await waitFor(async () => ws.frames.length >= 2 && sse.messages().length >= 2, 10_000);
    const expected = [
      { type: "status_update", timestamp: "2024-01-15T10:30:00.000Z", data: { endpointId: "ep-live", status: "offline", responseTime: null, previousStatus: "online" } },
      { type: "status_update", timestamp: "2024-01-15T10:30:00.000Z", data: { endpointId: "ep-live", status: "online", responseTime: 2.5, previousStatus: "offline" } },
    ];
    // Only status updates: no greeting, no job messages.
    expect(ws.frames.map((f) => JSON.parse(f))).toEqual(expected.map((m) => ({ ...m, seq: expect.any(Number) })));
    expect(sse.messages()).toEqual(expected.map((m) => ({ ...m, seq: expect.any(Number) })));
    ws.ws.close();
    await sse.cancel();
  });

  it("are also a topic of the general /ws stream", async () => {
    const ws = await openStatusWs(`${BASE}/ws?topics=endpoint-status`, { authorization: `Bearer ${ADMIN}` });
    await deliverEvents(env, [makeEvent("endpoint.status_changed", change("ep-topic", "offline", "unknown", null))]);
    await waitFor(async () => ws.frames.some((f) => f.includes("ep-topic")), 10_000);
    expect(JSON.parse(ws.frames.find((f) => f.includes("ep-topic"))!)).toMatchObject({ type: "status_update", data: { endpointId: "ep-topic", previousStatus: "unknown" } });
    ws.ws.close();
  });

  it("refuse missing tokens, plain GETs and bad queries in the one error shape", async () => {
    const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(new Request(`${root}${path}`, { headers }));
    expect((await get("/api/ws/status", { upgrade: "websocket" })).status).toBe(401);
    expect((await get("/api/events/status")).status).toBe(401);
    expect((await get("/api/events/status?access_token=wrong")).status).toBe(401);
    const plain = await get("/api/ws/status", { authorization: `Bearer ${ADMIN}` });
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: "upgrade_required" });
    const bad = await get("/api/events/status?heartbeat=0", { authorization: `Bearer ${ADMIN}` });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "validation_error", details: [{ path: "heartbeat" }] });
    expect((await get("/api/ws/status?topics=job-status", { authorization: `Bearer ${ADMIN}`, upgrade: "websocket" })).status).toBe(400);
  });
});
