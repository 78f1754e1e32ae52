import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { ApiError } from "../http/errors";
import { parseWith, readQuery } from "../http/validate";
import { newId } from "../lib/ids";
import { QueueNameSchema } from "../model/job";
import { connectHub } from "../realtime/client";
import { TopicSchema, type Subscription, type Topic } from "../realtime/messages";
import type { HubName } from "../realtime/signalr-protocol";
import { sseStream } from "../realtime/sse";

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(20));

const StreamFields = {
  topics: list(TopicSchema).optional().describe("comma-separated: job-status, queue-metrics, system-health, job-progress, job-logs"),
  queue: list(QueueNameSchema).optional().describe("only these queues (comma-separated)"),
  jobId: list(z.string().min(1).max(100)).optional().describe("only these jobs (comma-separated)"),
  type: list(z.string().min(1).max(100)).optional().describe("only these job types (comma-separated)"),
  since: z.coerce.number().int().min(0).optional().describe("replay buffered messages after this seq"),
  access_token: z.string().optional().describe("the bearer token, for clients that cannot set headers"),
};

/** GET /ws: optional subscriptions at connect time; more with `{ action: "subscribe", ... }` messages. */
export const WsQuery = z.strictObject(StreamFields);
/** GET /events. */
export const SseQuery = z.strictObject({
  ...StreamFields,
  heartbeat: z.coerce.number().int().min(1).max(120).default(15).describe("seconds between heartbeat comments"),
});
const LastEventId = z.coerce.number().int().min(0);

const SSE_DEFAULT_TOPICS: Topic[] = ["job-status", "queue-metrics", "system-health"];

function subscriptions(q: z.output<typeof WsQuery>, fallback: Topic[]): Subscription[] {
  const filter = { ...(q.queue && { queue: q.queue }), ...(q.jobId && { jobId: q.jobId }), ...(q.type && { type: q.type }) };
  return (q.topics ?? fallback).map((topic) => ({ topic, filter }));
}

function requireUpgrade(c: Context<AppEnv>) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket: connect with Upgrade: websocket.", undefined, { Upgrade: "websocket" });
  }
}

/** Live updates under the API base path: WebSocket topics, SSE and the TickerQ SignalR hub. */
export const realtimeApi = new Hono<AppEnv>()
  .get("/ws", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, WsQuery);
    requireUpgrade(c);
    return connectHub(c.env, { kind: "topics", subs: subscriptions(q, []), since: q.since });
  })
  .get("/events", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, SseQuery);
    const header = c.req.header("last-event-id");
    // A reconnecting EventSource repeats its original URL, so its Last-Event-ID wins over `since`.
    const since = header ? parseWith(LastEventId, header, ["Last-Event-ID"]) : q.since;
    return sseStream(c.env, subscriptions(q, SSE_DEFAULT_TOPICS), since, q.heartbeat * 1000);
  });

export const SignalRNegotiateQuery = z.object({ negotiateVersion: z.coerce.number().int().min(0).optional().describe("1 for connectionToken (current clients)") });
const ConnectQuery = z.object({ id: z.string().min(1).max(100).optional() });

/** A SignalR hub endpoint: `POST /negotiate` and the WebSocket transport at the hub URL itself. */
export function signalrHubApi(hub: HubName) {
  return new Hono<AppEnv>()
    .post("/negotiate", requireScope("tickerq:read"), (c) => {
      const { negotiateVersion } = readQuery(c, SignalRNegotiateQuery);
      const connectionId = newId("conn");
      const availableTransports = [{ transport: "WebSockets", transferFormats: ["Text"] }];
      if (!negotiateVersion) return c.json({ connectionId, availableTransports });
      return c.json({ negotiateVersion: 1, connectionId, connectionToken: newId("ctok"), availableTransports });
    })
    .get("/", requireScope("tickerq:read"), async (c) => {
      const { id } = readQuery(c, ConnectQuery);
      requireUpgrade(c);
      return connectHub(c.env, { kind: "signalr", hub, connectionId: id ?? newId("conn") });
    });
}
