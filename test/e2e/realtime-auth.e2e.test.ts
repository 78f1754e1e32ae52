import * as signalR from "@microsoft/signalr";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { baseUrl, call, token, waitFor } from "./client";
import { createJob, Recorder, refusedStatus, uniqueQueue, wsUrl } from "./realtime-clients";

async function readKey(extra: Record<string, unknown> = {}) {
  const r = await call("/keys", { body: { name: "live e2e", scopes: ["tickerq:read"], ...extra } });
  expect(r.status).toBe(201);
  return r.json as { id: string; key: string };
}

async function ticketFor(key: string): Promise<string> {
  const r = await call("/realtime/tickets", { method: "POST", token: key });
  expect(r.status).toBe(201);
  return r.json.ticket;
}

/** A WebSocket that records how it was closed. */
function closeOf(ws: WebSocket) {
  let closed: { code: number; reason: string } | null = null;
  ws.on("close", (code, reason) => (closed = { code, reason: reason.toString() }));
  return () => closed;
}

/** A URL-only EventSource (no headers), as a browser opens it. */
function urlEventSource(query: string) {
  const es = new EventSource(`${baseUrl()}/api/tickerq/events${query}`);
  const opened = new Promise<void>((resolve, reject) => {
    es.onopen = () => resolve();
    es.onerror = (e) => reject(new Error(`EventSource failed: ${e.message ?? e.code}`));
  });
  return { es, opened };
}

function ticketHub(path: string, key: string) {
  // The SignalR client asks for a token before negotiate and again before connecting: a fresh ticket each time.
  return new signalR.HubConnectionBuilder()
    .withUrl(`${baseUrl()}${path}`, { accessTokenFactory: () => ticketFor(key), transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build();
}

describe("live updates and their credentials (real clients, real wrangler dev)", () => {
  it("takes access_token on the streaming routes only, and a ticket there works once", async () => {
    expect((await fetch(`${baseUrl()}/api/tickerq/jobs?access_token=${token()}`)).status).toBe(401);
    expect((await fetch(`${baseUrl()}/metrics?access_token=${token()}`)).status).toBe(401);

    const key = await readKey();
    const ticket = await ticketFor(key.key);
    const ws = await Recorder.open(`?topics=job-status&access_token=${ticket}`, null);
    await ws.next("connected");
    expect(await refusedStatus(wsUrl(`/ws?access_token=${ticket}`))).toBe(401);
    ws.close();

    const sse = urlEventSource(`?topics=job-status&access_token=${await ticketFor(key.key)}`);
    await sse.opened;
    sse.es.close();

    const queue = uniqueQueue();
    const hub = ticketHub("/api/tickerq/hub", key.key);
    await hub.start();
    const seen: string[] = [];
    hub.on("JobStatusChanged", (jobId: string, status: string) => seen.push(`${jobId}:${status}`));
    await hub.invoke("JoinGroup", `queue:${queue}`);
    const job = await createJob(queue);
    await waitFor(async () => seen.includes(`${job.id}:completed`));
    await hub.stop();
  });

  it("closes a revoked key's WebSocket, SSE and SignalR connections within seconds, and they cannot come back", async () => {
    const key = await readKey();
    const ws = await Recorder.open("?topics=job-status", key.key);
    const wsClosed = closeOf(ws.ws);
    const sse = urlEventSource(`?topics=job-status&access_token=${key.key}`);
    await sse.opened;
    const hub = new signalR.HubConnectionBuilder()
      .withUrl(`${baseUrl()}/hubs/job-progress`, { accessTokenFactory: () => key.key, transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None)
      .build();
    let hubClosed: Error | string | null = null;
    hub.onclose((err) => (hubClosed = err ?? "closed"));
    await hub.start();

    const revokedAt = Date.now();
    expect((await call(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    // CLOSING: the server's close frame arrived (the 'close' event waits for the TCP connection to end as well).
    await waitFor(async () => ws.ws.readyState >= WebSocket.CLOSING && hubClosed && sse.es.readyState === EventSource.CLOSED, 8_000);
    expect(Date.now() - revokedAt).toBeLessThan(8_000);
    await waitFor(async () => wsClosed(), 30_000);
    expect(wsClosed()).toEqual({ code: 1008, reason: "The API key was revoked." });
    expect(String(hubClosed)).toMatch(/revoked/);
    expect(await refusedStatus(wsUrl("/ws"), { authorization: `Bearer ${key.key}` })).toBe(401);
  });

  it("closes a WebSocket within seconds of its key's expiry", async () => {
    const key = await readKey({ expiresAt: new Date(Date.now() + 3_000).toISOString() });
    const ws = await Recorder.open("?topics=job-status", key.key);
    const closed = closeOf(ws.ws);
    const opened = Date.now();
    await waitFor(async () => ws.ws.readyState >= WebSocket.CLOSING, 10_000);
    expect(Date.now() - opened).toBeLessThan(8_000);
    await waitFor(async () => closed(), 30_000);
    expect(closed()).toEqual({ code: 1008, reason: "The API key expired." });
  });
});
