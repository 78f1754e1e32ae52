import type { EndpointConfig } from "./endpoint-model";

export function monitorFor(env: Env, shard: number) {
  return env.ENDPOINT_MONITOR.get(env.ENDPOINT_MONITOR.idFromName(`shard-${shard}`));
}

/** Tells the endpoint's shard about a create or a change at once. */
export async function notifyUpsert(env: Env, config: EndpointConfig, reEnabled: boolean): Promise<void> {
  await monitorFor(env, config.shard).upsert({ config, reEnabled });
}

export async function notifyRemove(env: Env, shard: number, endpointId: string): Promise<void> {
  await monitorFor(env, shard).remove({ shard, endpointId });
}

/** The shard of a new endpoint: spread at random, so no shard needs to know the others' sizes. */
export function pickShard(shards: number): number {
  return shards <= 1 ? 0 : crypto.getRandomValues(new Uint32Array(1))[0] % shards;
}
