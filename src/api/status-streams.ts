import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireScope, requireStreamAuth } from "../http/auth";
import { parseWith, readQuery } from "../http/validate";
import { connectHub } from "../realtime/client";
import type { Subscription } from "../realtime/messages";
import { sseStream } from "../realtime/sse";
import { connectionKey, LastEventId, requireUpgrade } from "./realtime";

const STATUS_SUBS: Subscription[] = [{ topic: "endpoint-status", filter: {} }];

export const StatusWsQuery = z.strictObject({
  access_token: z.string().optional().describe("a ticket from POST /realtime/tickets (preferred) or the bearer token, for clients that cannot set headers"),
});
export const StatusSseQuery = StatusWsQuery.extend({
  heartbeat: z.coerce.number().int().min(1).max(120).default(15).describe("seconds between heartbeat comments"),
});

/**
 * Seed 002's live endpoint status: every `endpoint.status_changed` as `{ type: "status_update",
 * timestamp, data: { endpointId, status, responseTime, previousStatus } }`, to clients that connect
 * and only listen. The same hub topic (`endpoint-status`) is also open to /ws and /events subscribers.
 */
export const statusStreamsApi = new Hono<AppEnv>()
  .get("/ws/status", requireStreamAuth, requireScope("tickerq:read"), async (c) => {
    readQuery(c, StatusWsQuery);
    requireUpgrade(c);
    return connectHub(c.env, { kind: "topics", key: connectionKey(c.get("principal")), subs: STATUS_SUBS, quiet: true });
  })
  .get("/events/status", requireStreamAuth, requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, StatusSseQuery);
    const header = c.req.header("last-event-id");
    const since = header ? parseWith(LastEventId, header, ["Last-Event-ID"]) : undefined;
    return sseStream(c.env, { kind: "sse", key: connectionKey(c.get("principal")), subs: STATUS_SUBS, since }, q.heartbeat * 1000);
  });
