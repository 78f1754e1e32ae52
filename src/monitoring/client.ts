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

/** Every shard's monitor is loaded and has its alarm (the cron's safety net); a failure is logged, the next minute tries again. */
export async function ensureMonitorsRunning(env: Env, shards: number): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: shards }, (_, shard) => monitorFor(env, shard).ensureRunning({ shard })));
  results.forEach((r, shard) => {
    if (r.status === "rejected") console.error(`endpoint monitor ${shard}: not reachable from the cron`, r.reason);
  });
}
