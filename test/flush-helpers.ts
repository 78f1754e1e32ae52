import { env } from "cloudflare:workers";
import { flushLive } from "../src/scheduler/client";

/** Archives the queues' finished jobs to D1 now (their schedulers would within a flush interval) and waits for it. */
export async function flushQueues(...queues: string[]): Promise<void> {
  await Promise.all(queues.map((queue) => flushLive(env, queue)));
}
