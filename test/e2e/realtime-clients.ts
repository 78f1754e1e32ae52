// Small wrappers around the real clients (ws, eventsource, @microsoft/signalr) for the live-update tests.
import * as signalR from "@microsoft/signalr";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { baseUrl, call, token, waitFor } from "./client";

export type Message = { type: string; data: any; timestamp: string; seq?: number };

export const wsUrl = (path: string) => `${baseUrl().replace(/^http/, "ws")}/api/tickerq${path}`;

/** A `ws` connection that records every frame it receives. */
export class Recorder {
  readonly messages: Message[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on("message", (raw) => this.messages.push(JSON.parse(raw.toString())));
  }

  static async open(query = "", tok: string | null = token()): Promise<Recorder> {
    const ws = new WebSocket(wsUrl(`/ws${query}`), tok ? { headers: { authorization: `Bearer ${tok}` } } : {});
    const rec = new Recorder(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return rec;
  }

  send(value: unknown) {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Waits for the first frame of this type that passes the predicate. */
  async next(type: string, predicate: (m: Message) => boolean = () => true, timeoutMs?: number): Promise<Message> {
    return waitFor(async () => this.messages.find((m) => m.type === type && predicate(m)), timeoutMs);
  }

  async subscribe(body: Record<string, unknown>): Promise<Message> {
    const before = this.of("subscribed").length;
    this.send({ action: "subscribe", ...body });
    return waitFor(async () => this.of("subscribed")[before]);
  }

  close() {
    this.ws.close();
  }
}

/** What a refused upgrade answered: its HTTP status. */
export function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => reject(new Error("the connection was accepted")));
    ws.on("error", () => {});
  });
}

/** An EventSource that records the data of every event and its id. */
export function openEventSource(query: string, headers: Record<string, string> = { authorization: `Bearer ${token()}` }) {
  const messages: (Message & { id: string })[] = [];
  const es = new EventSource(`${baseUrl()}/api/tickerq/events${query}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
  });
  es.onmessage = (e) => messages.push({ ...JSON.parse(e.data), id: e.lastEventId });
  const opened = new Promise<void>((resolve, reject) => {
    es.onopen = () => resolve();
    es.onerror = (e) => reject(new Error(`EventSource failed: ${e.message ?? e.code}`));
  });
  return { es, messages, opened };
}

export function hubConnection(path: string, tok: string | null = token()) {
  return new signalR.HubConnectionBuilder()
    .withUrl(`${baseUrl()}${path}`, { ...(tok ? { accessTokenFactory: () => tok } : {}), transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build();
}

export async function createJob(queue: string, parameters: Record<string, unknown> = { message: "live" }, extra: Record<string, unknown> = {}) {
  const r = await call("/jobs", { body: { type: "echo", queue, parameters, ...extra } });
  if (r.status !== 201) throw new Error(`job not created: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as { id: string };
}

export async function waitForJob(id: string, status = "completed") {
  return waitFor(async () => (await call(`/jobs/${id}`)).json?.status === status);
}

export const uniqueQueue = (prefix = "rt") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
