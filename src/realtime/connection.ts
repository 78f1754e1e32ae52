import { z } from "zod";
import { SubscriptionSchema } from "./messages";
import { HUBS } from "./signalr-protocol";

/** The Worker tells the hub what a forwarded upgrade is for in this header (it authenticated the request first). */
export const CONNECT_HEADER = "x-realtime-connect";

/** Plain WebSocket subscribers answer their own pings with this pair, by auto-response, without waking the hub. */
export const TOPIC_PING = `{"action":"ping"}`;
export const TOPIC_PONG = `{"type":"pong"}`;

const Since = z.number().int().min(0).optional();

/** What a connection is: a topic WebSocket, an SSE stream (bridged by the Worker) or a SignalR hub connection. */
export const ConnectInitSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("topics"), subs: z.array(SubscriptionSchema).max(20), since: Since }),
  z.object({ kind: z.literal("sse"), subs: z.array(SubscriptionSchema).max(20), since: Since }),
  z.object({ kind: z.literal("signalr"), hub: z.enum(HUBS), connectionId: z.string().min(1).max(100) }),
]);
export type ConnectInit = z.infer<typeof ConnectInitSchema>;

/** Per-connection state in the socket's attachment, so it survives hibernation (at most 2 KB). */
export const AttachmentSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("topics"), subs: z.array(SubscriptionSchema) }),
  z.object({ kind: z.literal("sse"), subs: z.array(SubscriptionSchema) }),
  z.object({ kind: z.literal("signalr"), hub: z.enum(HUBS), connectionId: z.string(), ready: z.boolean(), groups: z.array(z.string()) }),
]);
export type Attachment = z.infer<typeof AttachmentSchema>;

export const MAX_ATTACHMENT_BYTES = 2048;

/**
 * Which hub instance serves a kind of connection. `topics` is the primary: it receives the events,
 * numbers and buffers them, and relays them to `signalr` while SignalR clients are connected.
 * SignalR clients get an instance of their own because each instance has one auto-response pair.
 */
export type HubInstance = "topics" | "signalr";
export const instanceFor = (kind: ConnectInit["kind"]): HubInstance => (kind === "signalr" ? "signalr" : "topics");
