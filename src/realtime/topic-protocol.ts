import { z } from "zod";
import { formatPath } from "../http/errors";
import { FilterSchema, sameFilter, TOPICS, TopicSchema, type Filter, type Subscription } from "./messages";

/** A connection's subscriptions live in its WebSocket attachment, which is capped at 2 KB. */
export const MAX_SUBSCRIPTIONS = 20;

const Topics = z.array(TopicSchema).min(1).max(TOPICS.length);

/** What a WebSocket subscriber may send (seed 000: `{ action: "subscribe", topics: [...] }`). */
export const ClientMessageSchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("subscribe"), topics: Topics, filters: FilterSchema.optional(), since: z.number().int().min(0).optional() }),
  z.strictObject({ action: z.literal("unsubscribe"), topics: Topics, filters: FilterSchema.optional() }),
  z.strictObject({ action: z.literal("ping") }),
]);
export type ClientMessage = z.output<typeof ClientMessageSchema>;

export type ParseError = { error: string; message: string; details?: { path: string; message: string }[] };

export function parseClientMessage(raw: string | ArrayBuffer): { ok: true; message: ClientMessage } | { ok: false; error: ParseError } {
  if (typeof raw !== "string") return { ok: false, error: { error: "invalid_message", message: "Send text frames containing JSON." } };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, error: { error: "malformed_json", message: "The message is not valid JSON." } };
  }
  const parsed = ClientMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const details = parsed.error.issues.map((i) => ({ path: formatPath(i.path.map((p) => (typeof p === "symbol" ? String(p) : p))), message: i.message }));
  return { ok: false, error: { error: "invalid_message", message: `Invalid message: ${details[0].path ? `${details[0].path}: ` : ""}${details[0].message}`, details } };
}

/** Adds one subscription per topic (an existing one with the same filter is kept as is). */
export function subscribe(current: Subscription[], topics: Subscription["topic"][], filter: Filter): Subscription[] | null {
  const next = [...current];
  for (const topic of topics) {
    if (!next.some((s) => s.topic === topic && sameFilter(s.filter, filter))) next.push({ topic, filter });
  }
  return next.length > MAX_SUBSCRIPTIONS ? null : next;
}

/** Without filters: drops every subscription to these topics. With filters: only the ones with the same filter. */
export function unsubscribe(current: Subscription[], topics: Subscription["topic"][], filter: Filter | undefined): Subscription[] {
  return current.filter((s) => !(topics.includes(s.topic) && (!filter || sameFilter(s.filter, filter))));
}
