import type { DueItem } from "./messages";

export function schedulerFor(env: Env, queue: string) {
  return env.QUEUE_SCHEDULER.get(env.QUEUE_SCHEDULER.idFromName(queue));
}

/** Hands due work to each queue's scheduler: one call per queue. */
export async function armJobs(env: Env, jobs: { queue: string; item: DueItem }[]): Promise<void> {
  const byQueue = new Map<string, DueItem[]>();
  for (const { queue, item } of jobs) {
    const list = byQueue.get(queue) ?? [];
    list.push(item);
    byQueue.set(queue, list);
  }
  await Promise.all([...byQueue].map(([queue, items]) => schedulerFor(env, queue).enqueue({ queue, items })));
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
