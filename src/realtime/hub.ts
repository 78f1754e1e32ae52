import { migrateSqlite } from "../lib/sqlite-migrations";
import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import { hubFor } from "./client";
import {
  AttachmentSchema,
  CONNECT_HEADER,
  ConnectInitSchema,
  keyTag,
  MAX_ATTACHMENT_BYTES,
  MAX_CONNECTIONS_PER_HUB,
  MAX_CONNECTIONS_PER_KEY,
  MAX_REPLAYS_PER_KEY_PER_MINUTE,
  TOPIC_PING,
  TOPIC_PONG,
  type Attachment,
  type ConnectInit,
} from "./connection";
import { controlFrame, envelope, matches, PublishInput, RelayInput, TOPICS, type Draft, type Published, type Stored, type Subscription } from "./messages";
import { QUEUE_METRICS_SCHEMA, QueueMetrics } from "./queue-metrics";
import { REPLAY_BUFFER_BYTES, REPLAY_BUFFER_CHUNKS, REPLAY_BUFFER_SCHEMA, REPLAY_LIMIT, ReplayBuffer } from "./replay-buffer";
import { hubFrames, type HubFrame } from "./signalr-events";
import { closeFrame, completion, parseRecord, PING_FRAME, records, resolveInvocation, handshakeReply } from "./signalr-protocol";
import { parseClientMessage, subscribe, unsubscribe } from "./topic-protocol";

const MIGRATIONS: string[][] = [[...REPLAY_BUFFER_SCHEMA, ...QUEUE_METRICS_SCHEMA, `CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`], REPLAY_BUFFER_CHUNKS, REPLAY_BUFFER_BYTES];
const REPLAY_WINDOW_MS = 60_000;
const MAX_GROUPS = 50;

type Health = "healthy" | "unhealthy";

/**
 * Live subscribers and the messages they get. Sockets are accepted with the hibernation API: each
 * one's subscriptions live in its attachment and pings are answered by auto-response, so idle
 * subscribers cost nothing. The primary instance (`topics`) numbers messages, keeps the latest for
 * replay, reads queue metrics, and relays everything to the `signalr` instance while it has clients.
 */
export class RealtimeHub extends DurableObject<Env> {
  #sql: SqlStorage;
  #buffer!: ReplayBuffer;
  #metrics: QueueMetrics;
  /** Parsed attachments while the object is awake; rebuilt from the sockets after hibernation. */
  #conns = new WeakMap<WebSocket, Attachment>();
  #alarmAt: number | null | undefined;
  /** Relays go out one after another, so the SignalR instance sees messages in order. */
  #relayChain: Promise<void> = Promise.resolve();
  /** Whether the SignalR instance may have clients; it says so on every new connection, and a relay reaching none turns this off. */
  #relayOn = true;
  #relayEpoch = 0;
  /** When each key last asked for replays, within the last minute (kept while awake; an idle hub has nobody replaying). */
  #replays = new Map<string, number[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#metrics = new QueueMetrics(this.#sql);
    void ctx.blockConcurrencyWhile(async () => {
      migrateSqlite(ctx.storage, MIGRATIONS, this.#sql);
      this.#buffer = new ReplayBuffer(this.#sql);
    });
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Expected a WebSocket upgrade.", { status: 426 });
    const init = ConnectInitSchema.parse(JSON.parse(request.headers.get(CONNECT_HEADER) ?? "null"));
    const refused = this.#refusal(init);
    if (refused) return refused;
    const key = { id: init.key.id, expiresAt: init.key.expiresAt };
    const state: Attachment = init.kind === "signalr" ? { kind: "signalr", key, hub: init.hub, connectionId: init.connectionId, ready: false, groups: [] } : { kind: init.kind, key, subs: init.subs };
    if (!fits(state)) {
      return Response.json({ error: "subscription_too_large", message: `The subscriptions do not fit in a connection's ${MAX_ATTACHMENT_BYTES} bytes of state; subscribe to fewer or shorter filters.` }, { status: 400 });
    }
    // Before the client can send anything: the primary must relay to this instance from now on.
    if (init.kind === "signalr") await hubFor(this.env, "topics").signalrListening();
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.setWebSocketAutoResponse(
      init.kind === "signalr" ? new WebSocketRequestResponsePair(PING_FRAME, PING_FRAME) : new WebSocketRequestResponsePair(TOPIC_PING, TOPIC_PONG),
    );
    this.ctx.acceptWebSocket(server, [init.kind, keyTag(key.id)]);
    this.#save(server, state);
    if (init.kind !== "signalr") {
      if (init.kind === "topics" && !init.quiet) {
        server.send(controlFrame("connected", { latestSeq: this.#buffer.latestSeq, oldestSeq: this.#buffer.oldestSeq(), replayLimit: REPLAY_LIMIT, topics: TOPICS, subscriptions: init.subs }));
      }
      if (init.since !== undefined) this.#replay(server, init.kind, key.id, init.subs, init.since);
    }
    // The alarm closes the connection when its key expires.
    if (key.expiresAt != null) await this.#armAlarm(key.expiresAt);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Why a connection is refused before the upgrade, if it is: the caps on connections per key and per hub. */
  #refusal(init: ConnectInit): Response | null {
    if (this.ctx.getWebSockets().length >= MAX_CONNECTIONS_PER_HUB) {
      return Response.json({ error: "too_many_connections", message: `The live update hub is at its ${MAX_CONNECTIONS_PER_HUB} connections; try again later.` }, { status: 503 });
    }
    if (init.key.capped && this.ctx.getWebSockets(keyTag(init.key.id)).length >= MAX_CONNECTIONS_PER_KEY) {
      return Response.json(
        { error: "too_many_connections", message: `This API key already has ${MAX_CONNECTIONS_PER_KEY} live connections open; close one first.` },
        { status: 429 },
      );
    }
    return null;
  }

  /** Closes every connection opened with this key (it was revoked). Returns how many there were. */
  async closeKey(keyId: string, reason: string): Promise<{ closed: number }> {
    const sockets = this.ctx.getWebSockets(keyTag(keyId));
    for (const ws of sockets) this.#closeFor(ws, this.#conn(ws), reason);
    return { closed: sockets.length };
  }

  /** One call per batch of events (primary instance): number them, keep them for replay, send them to whoever subscribed. */
  async publish(input: z.input<typeof PublishInput>): Promise<{ seq: number }> {
    const { messages, queues } = PublishInput.parse(input);
    this.#emit(messages);
    // Counts are read only while someone listens; the next change after a subscriber arrives brings them.
    if (queues.length && this.#listening()) {
      this.#metrics.markDirty(queues);
      await this.#armAlarm();
    }
    return { seq: this.#buffer.latestSeq };
  }

  /** Messages the primary numbered (SignalR instance): send them to the joined groups. Returns how many clients there are. */
  async relay(input: z.input<typeof RelayInput>): Promise<{ listeners: number }> {
    const sockets = this.ctx.getWebSockets();
    this.#fanOut(
      RelayInput.parse(input).map(({ seq, ...draft }) => envelope(draft, seq)),
      sockets,
    );
    return { listeners: sockets.length };
  }

  /** The SignalR instance accepted a client (primary instance): relay from now on. */
  async signalrListening(): Promise<void> {
    this.#relayEpoch++;
    this.#relayOn = true;
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    const nextExpiry = this.#closeExpired(now);
    const due = this.#metrics.takeDue(now);
    if (due.length && this.#listening()) {
      try {
        const drafts = await this.#metrics.refresh(this.env, due, now);
        this.#emit([...this.#healthChange("healthy", null), ...drafts]);
      } catch (err) {
        console.error("queue metrics refresh failed", err);
        this.#metrics.markDirty(due.map((d) => d.queue));
        this.#emit(this.#healthChange("unhealthy", "D1 is unreachable: queue counts cannot be read."));
      }
    }
    await this.#armAlarm(nextExpiry);
  }

  /** Closes the connections whose key has expired; returns when the next one expires. */
  #closeExpired(now: number): number | null {
    let next: number | null = null;
    for (const ws of this.ctx.getWebSockets()) {
      const conn = this.#conn(ws);
      const expiresAt = conn?.key.expiresAt;
      if (expiresAt == null) continue;
      if (expiresAt <= now) this.#closeFor(ws, conn, "The API key expired.");
      else next = Math.min(next ?? expiresAt, expiresAt);
    }
    return next;
  }

  /** Ends a connection whose key no longer authenticates; a SignalR client is told why and not to reconnect. */
  #closeFor(ws: WebSocket, conn: Attachment | null, reason: string) {
    if (conn?.kind === "signalr") send(ws, closeFrame(`Connection closed with an error. ${reason}`));
    try {
      ws.close(1008, reason);
    } catch {}
    this.#conns.delete(ws);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#conn(ws);
    if (!conn) return ws.close(1011, "Unknown connection state.");
    if (conn.kind === "topics") this.#onTopicMessage(ws, conn, message);
    else if (conn.kind === "signalr") this.#onHubMessage(ws, conn, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      this.#conns.delete(ws);
    } finally {
      // Answer the peer's close frame, or its socket waits for one until it times out.
      try {
        ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
      } catch {}
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.#conns.delete(ws);
    console.warn("realtime socket error", error);
  }

  #onTopicMessage(ws: WebSocket, conn: Extract<Attachment, { kind: "topics" }>, raw: string | ArrayBuffer) {
    const parsed = parseClientMessage(raw);
    if (!parsed.ok) return send(ws, controlFrame("error", parsed.error));
    const msg = parsed.message;
    if (msg.action === "ping") return send(ws, TOPIC_PONG);
    if (msg.action === "unsubscribe") {
      const subs = unsubscribe(conn.subs, msg.topics, msg.filters);
      this.#save(ws, { ...conn, subs });
      return send(ws, controlFrame("unsubscribed", { topics: msg.topics, subscriptions: subs }));
    }
    const filter = msg.filters ?? {};
    const subs = subscribe(conn.subs, msg.topics, filter);
    if (!subs || !this.#save(ws, { ...conn, subs })) {
      return send(ws, controlFrame("error", { error: "too_many_subscriptions", message: "This connection has too many subscriptions (at most 20, 2 KB in all); unsubscribe first." }));
    }
    send(ws, controlFrame("subscribed", { topics: msg.topics, filters: filter, subscriptions: subs, latestSeq: this.#buffer.latestSeq }));
    if (msg.since !== undefined) this.#replay(ws, "topics", conn.key.id, msg.topics.map((topic) => ({ topic, filter })), msg.since);
  }

  #onHubMessage(ws: WebSocket, conn: Extract<Attachment, { kind: "signalr" }>, raw: string | ArrayBuffer) {
    if (typeof raw !== "string") {
      send(ws, closeFrame("Connection closed with an error. Only the text (JSON) transfer format is supported."));
      return ws.close(1003, "Binary frames are not supported.");
    }
    const recs = records(raw);
    if (!conn.ready) {
      const first = recs.shift();
      if (first === undefined) return;
      const reply = handshakeReply(first);
      send(ws, reply.frame);
      if (!reply.ok) return ws.close(1002, "Handshake failed.");
      this.#save(ws, (conn = { ...conn, ready: true }));
    }
    for (const rec of recs) {
      const req = parseRecord(rec);
      switch (req.kind) {
        case "invoke": {
          let outcome = resolveInvocation(conn.hub, req.target, req.args);
          if (outcome.ok) {
            const { join, group } = outcome;
            const groups = join ? [...new Set([...conn.groups, group])] : conn.groups.filter((g) => g !== group);
            if (groups.length > MAX_GROUPS || !this.#save(ws, (conn = { ...conn, groups }))) {
              outcome = { ok: false, error: `Failed to invoke '${req.target}': this connection is in too many groups (at most ${MAX_GROUPS}).` };
            }
          }
          if (req.invocationId !== undefined) send(ws, completion(req.invocationId, outcome.ok ? undefined : outcome.error));
          break;
        }
        case "stream":
          send(ws, completion(req.invocationId, "Streaming hub methods are not supported."));
          break;
        case "ping":
          send(ws, PING_FRAME);
          break;
        case "close":
          return ws.close(1000, "Closed by the client.");
        case "malformed":
          send(ws, closeFrame(`Connection closed with an error. InvalidDataException: ${req.reason}`));
          return ws.close(1003, "Malformed message.");
        case "ignore":
          break;
      }
    }
  }

  #replay(ws: WebSocket, kind: "topics" | "sse", keyId: string, subs: Subscription[], since: number) {
    if (!this.#mayReplay(keyId, Date.now())) {
      const notice = controlFrame("error", {
        error: "replay_rate_limited",
        message: `This API key asked for more than ${MAX_REPLAYS_PER_KEY_PER_MINUTE} replays in a minute; nothing was replayed. Reload current state from the REST API, or wait.`,
        since,
        latestSeq: this.#buffer.latestSeq,
      });
      return send(ws, kind === "sse" ? `data: ${notice}\n\n` : notice);
    }
    const replay = this.#buffer.since(since, (m) => subs.some((s) => matches(s, m)));
    if (replay.kind === "gap") {
      const notice = controlFrame("replay-gap", {
        since,
        oldestSeq: replay.oldestSeq,
        latestSeq: replay.latestSeq,
        message: `Messages after seq ${since} are no longer all available (the hub keeps the latest ${REPLAY_LIMIT}); reload current state from the REST API.`,
      });
      send(ws, kind === "sse" ? `data: ${notice}\n\n` : notice);
    }
    for (const m of replay.messages) send(ws, kind === "sse" ? sseFrame(m) : m.json);
  }

  #mayReplay(keyId: string, now: number): boolean {
    const recent = (this.#replays.get(keyId) ?? []).filter((t) => t > now - REPLAY_WINDOW_MS);
    const allowed = recent.length < MAX_REPLAYS_PER_KEY_PER_MINUTE;
    if (allowed) recent.push(now);
    if (recent.length) this.#replays.set(keyId, recent);
    else this.#replays.delete(keyId);
    return allowed;
  }

  #emit(drafts: Draft[]) {
    if (!drafts.length) return;
    const published = this.#buffer.append(drafts);
    this.#fanOut(published, this.ctx.getWebSockets());
    if (this.#relayOn) this.#relay(published);
  }

  #relay(published: Published[]) {
    const epoch = this.#relayEpoch;
    const batch = published.map(({ json: _, ...m }) => m);
    this.#relayChain = this.#relayChain
      .then(async () => {
        const { listeners } = await hubFor(this.env, "signalr").relay(batch);
        if (listeners === 0 && epoch === this.#relayEpoch) this.#relayOn = false;
      })
      .catch((err) => console.warn("relay to the SignalR hub failed", err));
    this.ctx.waitUntil(this.#relayChain);
  }

  #listening(): boolean {
    return this.#relayOn || this.ctx.getWebSockets().length > 0;
  }

  #fanOut(published: Published[], sockets: WebSocket[]) {
    if (!published.length || !sockets.length) return;
    let sse: string[] | undefined;
    let frames: HubFrame[][] | undefined;
    for (const ws of sockets) {
      const conn = this.#conn(ws);
      if (!conn) continue;
      if (conn.kind === "signalr") {
        if (!conn.ready || !conn.groups.length) continue;
        frames ??= published.map(hubFrames);
        for (const list of frames) {
          for (const f of list) if (f.hub === conn.hub && f.groups.some((g) => conn.groups.includes(g))) send(ws, f.frame);
        }
      } else {
        if (conn.kind === "sse") sse ??= published.map(sseFrame);
        published.forEach((m, i) => {
          if (conn.subs.some((s) => matches(s, m))) send(ws, conn.kind === "sse" ? sse![i] : m.json);
        });
      }
    }
  }

  #healthChange(status: Health, reason: string | null): Draft[] {
    const previous = (this.#state("health") ?? "healthy") as Health;
    if (previous === status) return [];
    this.#setState("health", status);
    const now = new Date().toISOString();
    return [{ topic: "system-health", data: { status, previousStatus: previous, reason, source: "realtime" }, timestamp: now, queue: null, jobId: null, jobType: null }];
  }

  /** Arms the alarm for the next queue metrics refresh or `also` (a key's expiry), whichever is first. */
  async #armAlarm(also: number | null = null) {
    const due = [this.#metrics.nextDueAt(), also].filter((t): t is number => t != null);
    if (!due.length) return;
    const at = Math.max(Math.min(...due), Date.now());
    if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
    if (this.#alarmAt != null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  #conn(ws: WebSocket): Attachment | null {
    let conn = this.#conns.get(ws);
    if (!conn) {
      const parsed = AttachmentSchema.safeParse(ws.deserializeAttachment());
      if (!parsed.success) return null;
      this.#conns.set(ws, (conn = parsed.data));
    }
    return conn;
  }

  /** Stores a connection's state in its attachment; false when it would not fit. */
  #save(ws: WebSocket, conn: Attachment): boolean {
    if (!fits(conn)) return false;
    ws.serializeAttachment(conn);
    this.#conns.set(ws, conn);
    return true;
  }

  #state(key: string): string | null {
    const rows = this.#sql.exec(`SELECT value FROM state WHERE key = ?`, key).toArray();
    return rows.length ? String(rows[0].value) : null;
  }

  #setState(key: string, value: string) {
    this.#sql.exec(`INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)`, key, value);
  }

}

const fits = (conn: Attachment) => JSON.stringify(conn).length <= MAX_ATTACHMENT_BYTES - 64;

function send(ws: WebSocket, frame: string) {
  try {
    ws.send(frame);
  } catch {
    // The socket is closing; its close handler cleans up.
  }
}

const sseFrame = (m: Stored) => `id: ${m.seq}\ndata: ${m.json}\n\n`;
