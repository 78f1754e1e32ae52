import { z } from "zod";
import { ApiError } from "../http/errors";
import { CONNECT_HEADER, instanceFor, type ConnectInit, type HubInstance } from "./connection";
import type { PublishInput } from "./messages";

export function hubFor(env: Env, instance: HubInstance) {
  return env.REALTIME_HUB.get(env.REALTIME_HUB.idFromName(instance));
}

/** How the hub says no to a connection (a cap reached, an oversized state). */
export const HubRefusalSchema = z.object({ error: z.string(), message: z.string() });

/** Hands an authenticated upgrade to the hub instance that serves this kind of connection; its refusal becomes the ApiError. */
export async function connectHub(env: Env, init: ConnectInit): Promise<Response> {
  const headers = new Headers({ upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify(init) });
  const res = await hubFor(env, instanceFor(init.kind)).fetch(new Request("https://realtime-hub/connect", { headers }));
  if (res.status === 101) return res;
  const refusal = HubRefusalSchema.safeParse(await res.json().catch(() => null));
  if (refusal.success && (res.status === 400 || res.status === 429 || res.status === 503)) {
    throw new ApiError(res.status, refusal.data.error, refusal.data.message, undefined, res.status === 400 ? undefined : { "Retry-After": "10" });
  }
  throw new ApiError(503, "hub_unavailable", "The live update hub did not accept the connection; try again.");
}

/** One RPC for a whole batch of messages, to the primary hub. */
export async function publishToHub(env: Env, input: PublishInput): Promise<void> {
  await hubFor(env, "topics").publish(input);
}

/** Closes every live connection opened with this key, on both hub instances. */
export async function closeKeyConnections(env: Env, keyId: string, reason: string): Promise<void> {
  const results = await Promise.allSettled((["topics", "signalr"] as const).map((i) => hubFor(env, i).closeKey(keyId, reason)));
  for (const r of results) if (r.status === "rejected") console.error(`could not close the live connections of key ${keyId}`, r.reason);
}
