import { z } from "zod";
import { SubscriptionSchema } from "./messages";
import { HUBS } from "./signalr-protocol";

/** The Worker tells the hub what a forwarded upgrade is for in this header (it authenticated the request first). */
export const CONNECT_HEADER = "x-realtime-connect";

/** Plain WebSocket subscribers answer their own pings with this pair, by auto-response, without waking the hub. */
export const TOPIC_PING = `{"action":"ping"}`;
export const TOPIC_PONG = `{"type":"pong"}`;

const Since = z.number().int().min(0).optional();

/** The API key (or ADMIN_TOKEN) a connection was opened with: revoking it, or its expiry, closes the connection. */
export const ConnectionKeySchema = z.object({ id: z.string().min(1).max(100), expiresAt: z.number().nullable() });
export type ConnectionKey = z.infer<typeof ConnectionKeySchema>;

/** The key, and whether it is held to MAX_CONNECTIONS_PER_KEY (API keys are; ADMIN_TOKEN is not, as it is not rate limited). */
const ConnectKey = ConnectionKeySchema.extend({ capped: z.boolean() });

/** What a connection is: a topic WebSocket, an SSE stream (bridged by the Worker) or a SignalR hub connection. */
export const ConnectInitSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("topics"),
    key: ConnectKey,
    subs: z.array(SubscriptionSchema).max(20),
    since: Since,
    /** Seed 002's /api/ws/status: its clients expect only `status_update` frames, so no `connected` greeting. */
    quiet: z.boolean().optional(),
  }),
  z.object({ kind: z.literal("sse"), key: ConnectKey, subs: z.array(SubscriptionSchema).max(20), since: Since }),
  z.object({ kind: z.literal("signalr"), key: ConnectKey, hub: z.enum(HUBS), connectionId: z.string().min(1).max(100) }),
]);
export type ConnectInit = z.infer<typeof ConnectInitSchema>;

/** Per-connection state in the socket's attachment, so it survives hibernation (at most 2 KB). */
export const AttachmentSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("topics"), key: ConnectionKeySchema, subs: z.array(SubscriptionSchema) }),
  z.object({ kind: z.literal("sse"), key: ConnectionKeySchema, subs: z.array(SubscriptionSchema) }),
  z.object({ kind: z.literal("signalr"), key: ConnectionKeySchema, hub: z.enum(HUBS), connectionId: z.string(), ready: z.boolean(), groups: z.array(z.string()) }),
]);
export type Attachment = z.infer<typeof AttachmentSchema>;

export const MAX_ATTACHMENT_BYTES = 2048;
/**
 * The subscriptions a connection may hold, serialized: what is left of the attachment once the
 * key and the framing are in. Checked before the upgrade, so an oversized filter is a 400.
 */
export const MAX_SUBSCRIPTION_BYTES = 1536;

/** Open connections one API key may hold on one hub instance (WebSocket and SSE share the `topics` one). */
export const MAX_CONNECTIONS_PER_KEY = 20;
/** Open connections on one hub instance, whoever holds them. */
export const MAX_CONNECTIONS_PER_HUB = 5_000;
/** Replays (`since`, `Last-Event-ID`, subscribe with `since`) one key may ask for per minute; each reads the replay buffer. */
export const MAX_REPLAYS_PER_KEY_PER_MINUTE = 30;

/** Sockets are tagged with their key, so the hub finds a key's connections without reading every attachment. */
export const keyTag = (keyId: string) => `key:${keyId}`;

/**
 * Which hub instance serves a kind of connection. `topics` is the primary: it receives the events,
 * numbers and buffers them, and relays them to `signalr` while SignalR clients are connected.
 * SignalR clients get an instance of their own because each instance has one auto-response pair.
 */
export type HubInstance = "topics" | "signalr";
export const instanceFor = (kind: ConnectInit["kind"]): HubInstance => (kind === "signalr" ? "signalr" : "topics");
