import { z } from "zod";
import { QueueNameSchema } from "../model/job";

/** The ASP.NET Core SignalR JSON hub protocol, version 1, over WebSockets (text frames). */
export const RS = "\u001e";
export const PING_FRAME = `{"type":6}${RS}`;
export const HANDSHAKE_OK = `{}${RS}`;

export const MessageType = { Invocation: 1, StreamItem: 2, Completion: 3, StreamInvocation: 4, CancelInvocation: 5, Ping: 6, Close: 7 } as const;

export const HUBS = ["tickerq", "job-progress"] as const;
export type HubName = (typeof HUBS)[number];

/** Splits a text frame into its records; each record ends with the record separator. */
export function records(frame: string): string[] {
  return frame.split(RS).filter((r) => r.length > 0);
}

const Handshake = z.object({ protocol: z.string(), version: z.number().int() });

/** The handshake reply: `{}` for json v1, otherwise the error the client shows. */
export function handshakeReply(record: string): { ok: boolean; frame: string } {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    return { ok: false, frame: JSON.stringify({ error: "The handshake request is not valid JSON." }) + RS };
  }
  const parsed = Handshake.safeParse(value);
  if (!parsed.success) return { ok: false, frame: JSON.stringify({ error: "The handshake request needs a protocol and a version." }) + RS };
  if (parsed.data.protocol !== "json") return { ok: false, frame: JSON.stringify({ error: `The protocol '${parsed.data.protocol}' is not supported.` }) + RS };
  if (parsed.data.version !== 1) return { ok: false, frame: JSON.stringify({ error: `The server does not support version ${parsed.data.version} of the 'json' protocol.` }) + RS };
  return { ok: true, frame: HANDSHAKE_OK };
}

export const invocation = (target: string, args: unknown[]) => JSON.stringify({ type: MessageType.Invocation, target, arguments: args }) + RS;

export const completion = (invocationId: string, error?: string) =>
  JSON.stringify(error === undefined ? { type: MessageType.Completion, invocationId } : { type: MessageType.Completion, invocationId, error }) + RS;

export const closeFrame = (error?: string) => JSON.stringify(error ? { type: MessageType.Close, error, allowReconnect: false } : { type: MessageType.Close }) + RS;

const HubMessage = z.looseObject({ type: z.number().int() });
const Invocation = z.looseObject({ type: z.literal(1), invocationId: z.string().optional(), target: z.string(), arguments: z.array(z.unknown()) });
const StreamInvocation = z.looseObject({ type: z.literal(4), invocationId: z.string() });

export type HubRequest =
  | { kind: "invoke"; invocationId?: string; target: string; args: unknown[] }
  | { kind: "stream"; invocationId: string }
  | { kind: "ping" }
  | { kind: "close" }
  | { kind: "ignore" }
  | { kind: "malformed"; reason: string };

export function parseRecord(record: string): HubRequest {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    return { kind: "malformed", reason: "A message is not valid JSON." };
  }
  const msg = HubMessage.safeParse(value);
  if (!msg.success) return { kind: "malformed", reason: "A message has no numeric type." };
  switch (msg.data.type) {
    case MessageType.Invocation: {
      const inv = Invocation.safeParse(value);
      if (!inv.success) return { kind: "malformed", reason: "An invocation needs a target and an arguments array." };
      return { kind: "invoke", invocationId: inv.data.invocationId, target: inv.data.target, args: inv.data.arguments };
    }
    case MessageType.StreamInvocation: {
      const inv = StreamInvocation.safeParse(value);
      return inv.success ? { kind: "stream", invocationId: inv.data.invocationId } : { kind: "malformed", reason: "A stream invocation needs an invocationId." };
    }
    case MessageType.Ping:
      return { kind: "ping" };
    case MessageType.Close:
      return { kind: "close" };
    default:
      return { kind: "ignore" };
  }
}

const JobIdSchema = z.string().min(1).max(100);

/** Groups a tickerq hub connection may join (seed 000: job-updates, system-metrics; plus per queue, per job and health alerts). */
export const GroupSchema = z.union([
  z.enum(["job-updates", "system-metrics", "system-health"]),
  z.string().regex(/^queue:/).refine((g) => QueueNameSchema.safeParse(g.slice(6)).success),
  z.string().regex(/^job:/).refine((g) => JobIdSchema.safeParse(g.slice(4)).success),
]);

type Method = { group: (arg: string) => string | null; join: boolean };

/** Hub methods by hub, matched case-insensitively as ASP.NET Core does. Each takes one string and joins or leaves a group. */
const METHODS: Record<HubName, Record<string, Method>> = {
  tickerq: {
    joingroup: { join: true, group: (g) => (GroupSchema.safeParse(g).success ? g : null) },
    leavegroup: { join: false, group: (g) => g },
  },
  "job-progress": {
    subscribetojob: { join: true, group: (id) => (JobIdSchema.safeParse(id).success ? `job:${id}` : null) },
    unsubscribefromjob: { join: false, group: (id) => `job:${id}` },
  },
};

export type MethodOutcome = { ok: true; join: boolean; group: string } | { ok: false; error: string };

/** Resolves an invocation to a group change, or the error its completion carries. */
export function resolveInvocation(hub: HubName, target: string, args: unknown[]): MethodOutcome {
  const method = METHODS[hub][target.toLowerCase()];
  if (!method) return { ok: false, error: `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.` };
  if (args.length !== 1) return { ok: false, error: `Failed to invoke '${target}' due to an error on the server. InvalidDataException: Invocation provides ${args.length} argument(s) but target expects 1.` };
  if (typeof args[0] !== "string") return { ok: false, error: `Failed to invoke '${target}': its argument must be a string.` };
  const group = method.group(args[0]);
  if (group == null) {
    const valid = hub === "tickerq" ? "job-updates, system-metrics, system-health, queue:<name> or job:<id>" : "a job id";
    return { ok: false, error: `Failed to invoke '${target}': '${args[0]}' is not valid here; use ${valid}.` };
  }
  return { ok: true, join: method.join, group };
}
