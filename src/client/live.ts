import type { LiveMessage, SubscriptionFilters, Ticket, Topic } from "./types.js";

/** The part of the WebSocket API the client uses: the browser's, Workers', Node 22's global, and the `ws` package's all have it. */
export type WebSocketLike = {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: (ev: any) => void): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (ev: { code: number; reason: string }) => void): void;
};
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type SubscribeOptions = {
  filters?: SubscriptionFilters;
  /** Resume after this seq (a `seq` of an earlier message); by default only messages from now on. */
  since?: number;
  /** Called when a connection fails or drops; the subscription reconnects by itself unless unsubscribed. */
  onError?: (error: unknown) => void;
};

/** Stops the subscription; `ready` settles once the first subscription is confirmed by the server. */
export type Unsubscribe = (() => void) & { ready: Promise<void> };

const PING_MS = 30_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * A subscription that survives dropped connections: each (re)connection takes a fresh single-use ticket and
 * subscribes with `since` set to the last seq delivered, so the hub replays what was missed and nothing comes twice.
 */
export function subscribeLive(
  deps: { wsUrl: string; ticket: () => Promise<Ticket>; WebSocket: WebSocketConstructor },
  topics: Topic[],
  handler: (message: LiveMessage) => void,
  options: SubscribeOptions = {},
): Unsubscribe {
  let lastSeq = options.since;
  let stopped = false;
  let socket: WebSocketLike | null = null;
  let ping: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let backoff = 250;
  let markReady!: () => void;
  let failReady!: (e: unknown) => void;
  let readySettled = false;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = () => ((readySettled = true), resolve());
    failReady = (e) => ((readySettled = true), reject(e));
  });
  ready.catch(() => {});

  const retryLater = (error: unknown) => {
    if (ping !== undefined) clearInterval(ping);
    socket = null;
    if (stopped) return;
    options.onError?.(error);
    // An error that retrying cannot fix (bad token, missing scope) ends the subscription before it ever started.
    const status = (error as { status?: number })?.status;
    if (!readySettled && (status === 401 || status === 403)) return failReady(error);
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  async function connect() {
    if (stopped) return;
    let ticket: string;
    try {
      ticket = (await deps.ticket()).ticket;
    } catch (e) {
      return retryLater(e);
    }
    if (stopped) return;
    const ws = new deps.WebSocket(`${deps.wsUrl}?access_token=${encodeURIComponent(ticket)}`);
    socket = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ action: "subscribe", topics, ...(options.filters ? { filters: options.filters } : {}), ...(lastSeq !== undefined ? { since: lastSeq } : {}) }));
      ping = setInterval(() => ws.readyState === 1 && ws.send('{"action":"ping"}'), PING_MS);
    });
    ws.addEventListener("message", (ev) => {
      let m: { type?: string; seq?: number; data?: Record<string, unknown> };
      try {
        m = JSON.parse(typeof ev.data === "string" ? ev.data : String(ev.data));
      } catch {
        return;
      }
      if (m.type === "subscribed") {
        backoff = 250;
        markReady();
        return;
      }
      if (m.type === "error") return options.onError?.(new Error(String(m.data?.message ?? "subscription refused")));
      if (m.type === "replay-gap") return handler(m as LiveMessage);
      if (typeof m.seq !== "number") return;
      if (lastSeq !== undefined && m.seq <= lastSeq) return;
      lastSeq = m.seq;
      handler(m as LiveMessage);
    });
    ws.addEventListener("error", () => {});
    ws.addEventListener("close", (ev) => {
      if (socket !== ws) return;
      retryLater(new Error(`live connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`));
    });
  }

  void connect();
  const unsubscribe = () => {
    stopped = true;
    if (ping !== undefined) clearInterval(ping);
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    const ws = socket;
    socket = null;
    if (ws && ws.readyState <= 1) ws.close(1000, "unsubscribed");
    if (!readySettled) markReady();
  };
  return Object.assign(unsubscribe, { ready });
}
