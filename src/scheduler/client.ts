import type { DueItem, ReleaseItem } from "./messages";

export function schedulerFor(env: Env, queue: string) {
  return env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(queue));
}

function byQueue<T>(entries: { queue: string; item: T }[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const { queue, item } of entries) {
    const list = out.get(queue) ?? [];
    list.push(item);
    out.set(queue, list);
  }
  return out;
}

/** Hands due work to each queue's scheduler: one call per queue. */
export async function armJobs(env: Env, jobs: { queue: string; item: DueItem }[]): Promise<void> {
  await Promise.all([...byQueue(jobs)].map(([queue, items]) => schedulerFor(env, queue).enqueue({ queue, items })));
}

/** Gives finished (or stale) dispatches back to each queue's scheduler: one call per queue. */
export async function releaseSlots(env: Env, released: { queue: string; item: ReleaseItem }[]): Promise<void> {
  await Promise.all([...byQueue(released)].map(([queue, items]) => schedulerFor(env, queue).release({ queue, items })));
}

/**
 * Like armJobs, but a failure is only logged: the job rows are already durable and the
 * scheduler's self-heal (or the cron reconciler) arms anything it missed.
 */
export async function armJobsBestEffort(env: Env, jobs: { queue: string; item: DueItem }[]): Promise<void> {
  try {
    await armJobs(env, jobs);
  } catch (err) {
    console.warn("scheduler call failed; the reconciler will arm these jobs", err);
  }
}
