import { Hono, type Context } from "hono";
import { z } from "zod";
import { createTicket, TICKET_TTL_MS } from "../db/realtime-tickets";
import type { AppEnv, Principal } from "../http/app-env";
import { requireScope, requireStreamAuth } from "../http/auth";
import { ApiError } from "../http/errors";
import { parseWith, readQuery } from "../http/validate";
import { newId } from "../lib/ids";
import { QueueNameSchema } from "../model/job";
import { connectHub } from "../realtime/client";
import { MAX_SUBSCRIPTION_BYTES, type ConnectInit } from "../realtime/connection";
import { TopicSchema, type Subscription, type Topic } from "../realtime/messages";
import type { HubName } from "../realtime/signalr-protocol";
import { sseStream } from "../realtime/sse";

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(20));

const StreamFields = {
  topics: list(TopicSchema).optional().describe("comma-separated: job-status, queue-metrics, system-health, job-progress, job-logs, endpoint-status"),
  queue: list(QueueNameSchema).optional().describe("only these queues (comma-separated)"),
  jobId: list(z.string().min(1).max(100)).optional().describe("only these jobs (comma-separated)"),
  type: list(z.string().min(1).max(100)).optional().describe("only these job types (comma-separated)"),
  since: z.coerce.number().int().min(0).optional().describe("replay buffered messages after this seq"),
  access_token: z.string().optional().describe("a ticket from POST /realtime/tickets (preferred) or the bearer token, for clients that cannot set headers"),
};

/** GET /ws: optional subscriptions at connect time; more with `{ action: "subscribe", ... }` messages. */
export const WsQuery = z.strictObject(StreamFields);
/** GET /events. */
export const SseQuery = z.strictObject({
  ...StreamFields,
  heartbeat: z.coerce.number().int().min(1).max(120).default(15).describe("seconds between heartbeat comments"),
});
export const LastEventId = z.coerce.number().int().min(0);

const SSE_DEFAULT_TOPICS: Topic[] = ["job-status", "queue-metrics", "system-health"];

/** The subscriptions a query asks for; refused here, before the upgrade, when they would not fit in the connection's state. */
function subscriptions(q: z.output<typeof WsQuery>, fallback: Topic[]): Subscription[] {
  const filter = { ...(q.queue && { queue: q.queue }), ...(q.jobId && { jobId: q.jobId }), ...(q.type && { type: q.type }) };
  const subs = (q.topics ?? fallback).map((topic) => ({ topic, filter }));
  const size = JSON.stringify(subs).length;
  if (size > MAX_SUBSCRIPTION_BYTES) {
    throw new ApiError(400, "subscription_too_large", `These subscriptions take ${size} bytes, more than the ${MAX_SUBSCRIPTION_BYTES} a connection holds; use fewer topics or shorter filters.`, [
      { path: "topics", message: `the topics times the queue, jobId and type filters exceed ${MAX_SUBSCRIPTION_BYTES} bytes` },
    ]);
  }
  return subs;
}

/** The key a connection is opened with: its revocation or expiry closes the connection. */
export const connectionKey = (p: Principal): ConnectInit["key"] => ({ id: p.id, expiresAt: p.expiresAt, capped: p.rateLimited });

export function requireUpgrade(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket: connect with Upgrade: websocket.", undefined, { Upgrade: "websocket" });
  }
}

/**
 * Live updates under the API base path: WebSocket topics and SSE. Mounted ahead of the API's own
 * guard, because these routes (and the SignalR hubs) are the only ones that take a token in the URL.
 */
export const realtimeApi = new Hono<AppEnv>()
  .get("/ws", requireStreamAuth, requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, WsQuery);
    const subs = subscriptions(q, []);
    requireUpgrade(c);
    return connectHub(c.env, { kind: "topics", key: connectionKey(c.get("principal")), subs, since: q.since });
  })
  .get("/events", requireStreamAuth, requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, SseQuery);
    const header = c.req.header("last-event-id");
    // A reconnecting EventSource repeats its original URL, so its Last-Event-ID wins over `since`.
    const since = header ? parseWith(LastEventId, header, ["Last-Event-ID"]) : q.since;
    return sseStream(c.env, { kind: "sse", key: connectionKey(c.get("principal")), subs: subscriptions(q, SSE_DEFAULT_TOPICS), since }, q.heartbeat * 1000);
  });

/**
 * POST /realtime/tickets: a single-use ticket for the caller's key, valid for TICKET_TTL_MS, to pass
 * as `access_token` to /ws, /events or a SignalR hub instead of the key itself.
 */
export const ticketsApi = new Hono<AppEnv>().post("/", requireScope("tickerq:read"), async (c) => {
  const { ticket, expiresAt } = await createTicket(c.env, c.get("principal").id, Date.now());
  return c.json({ ticket, expiresAt: new Date(expiresAt).toISOString(), expiresIn: TICKET_TTL_MS / 1000 }, 201);
});

export const SignalRNegotiateQuery = z.object({ negotiateVersion: z.coerce.number().int().min(0).optional().describe("1 for connectionToken (current clients)") });
const ConnectQuery = z.object({ id: z.string().min(1).max(100).optional() });

/** A SignalR hub endpoint: `POST /negotiate` and the WebSocket transport at the hub URL itself. */
export function signalrHubApi(hub: HubName) {
  return new Hono<AppEnv>()
    .post("/negotiate", requireStreamAuth, requireScope("tickerq:read"), (c) => {
      const { negotiateVersion } = readQuery(c, SignalRNegotiateQuery);
      const connectionId = newId("conn");
      const availableTransports = [{ transport: "WebSockets", transferFormats: ["Text"] }];
      if (!negotiateVersion) return c.json({ connectionId, availableTransports });
      return c.json({ negotiateVersion: 1, connectionId, connectionToken: newId("ctok"), availableTransports });
    })
    .get("/", requireStreamAuth, requireScope("tickerq:read"), async (c) => {
      const { id } = readQuery(c, ConnectQuery);
      requireUpgrade(c);
      return connectHub(c.env, { kind: "signalr", key: connectionKey(c.get("principal")), hub, connectionId: id ?? newId("conn") });
    });
}
