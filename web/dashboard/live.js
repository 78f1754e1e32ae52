// The one live connection: the API's WebSocket, resumed with `since` after a drop so nothing is missed.
import { apiBase, streamAccessToken } from "./api.js";

const TOPICS = ["job-status", "queue-metrics", "system-health"];
const listeners = new Set();
const extra = new Map(); // key -> { topics, filters }: page-specific subscriptions (a job's progress and logs)
let ws = null;
let lastSeq = null;
let retryMs = 500;
let stopped = true;
let indicator = () => {};

/** fn(message) for every numbered message, and fn({ type: "resync" }) when pages should reload their data. */
export function onLive(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setIndicator(fn) {
  indicator = fn;
}

export function startLive() {
  stopped = false;
  connect();
}

export function stopLive() {
  stopped = true;
  lastSeq = null;
  ws?.close();
  ws = null;
  indicator("idle");
}

/** Adds a subscription for as long as a page shows (e.g. one job's progress and logs). */
export function subscribeExtra(key, topics, filters) {
  extra.set(key, { topics, filters });
  send({ action: "subscribe", topics, filters });
  return () => {
    extra.delete(key);
    send({ action: "unsubscribe", topics, filters });
  };
}

function send(msg) {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function emit(msg) {
  for (const fn of listeners) fn(msg);
}

let opening = false;

async function connect() {
  // One socket at a time: a stale backoff timer or an "online" event must not open a second one.
  if (stopped || opening || (ws && ws.readyState <= WebSocket.OPEN)) return;
  opening = true;
  indicator("connecting");
  let ticket;
  try {
    ticket = await streamAccessToken();
  } catch {
    opening = false;
    return retry();
  }
  opening = false;
  if (stopped) return;
  const url = new URL(`${apiBase()}/ws`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("access_token", ticket);
  const socket = new WebSocket(url);
  ws = socket;
  let resumed = false;
  socket.onmessage = (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    if (msg.type === "connected") {
      const since = lastSeq;
      resumed = since != null;
      if (lastSeq == null) lastSeq = msg.data?.latestSeq ?? 0;
      socket.send(JSON.stringify({ action: "subscribe", topics: TOPICS, ...(since != null ? { since } : {}) }));
      for (const { topics, filters } of extra.values()) socket.send(JSON.stringify({ action: "subscribe", topics, filters }));
      retryMs = 500;
      indicator("on");
      // A fresh view of everything after a reconnect; the replayed messages then update it further.
      if (resumed) emit({ type: "resync" });
      return;
    }
    if (msg.type === "replay-gap") return emit({ type: "resync" });
    if (typeof msg.seq === "number") {
      if (lastSeq != null && msg.seq <= lastSeq && msg.type !== "job-progress" && msg.type !== "job-logs") return;
      lastSeq = Math.max(lastSeq ?? 0, msg.seq);
      emit(msg);
    }
  };
  socket.onclose = () => {
    if (ws === socket) ws = null;
    retry();
  };
  socket.onerror = () => socket.close();
}

function retry() {
  if (stopped) return;
  indicator("off");
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 5000);
}

// A hidden tab that comes back reconnects at once instead of waiting for its backoff.
addEventListener("online", () => {
  if (!ws && !stopped) connect();
});
