import { CONNECT_HEADER, instanceFor, type ConnectInit, type HubInstance } from "./connection";
import type { PublishInput } from "./messages";

export function hubFor(env: Env, instance: HubInstance) {
  return env.REALTIME_HUB.get(env.REALTIME_HUB.idFromName(instance));
}

/** Hands an authenticated upgrade to the hub instance that serves this kind of connection. */
export function connectHub(env: Env, init: ConnectInit): Promise<Response> {
  const headers = new Headers({ upgrade: "websocket", [CONNECT_HEADER]: JSON.stringify(init) });
  return hubFor(env, instanceFor(init.kind)).fetch(new Request("https://realtime-hub/connect", { headers }));
}

/** One RPC for a whole batch of messages, to the primary hub. */
export async function publishToHub(env: Env, input: PublishInput): Promise<void> {
  await hubFor(env, "topics").publish(input);
}
