import { readSettings, type UsageLimits } from "../config";
import { queuesInUse, unusedQueueNames } from "../db/queues";
import type { Principal } from "../http/app-env";
import { ApiError } from "../http/errors";
import { shortestIntervalMs } from "../recurring/schedule";
import { DEFAULT_WORKERS } from "../model/queue";

/**
 * The limits that bind this caller, or null for the admin scope (ADMIN_TOKEN included): a write
 * key must not be able to exhaust the deployment, the operator may size it as they choose.
 * Checked at request time, so requests racing each other can pass a limit by a few.
 */
export function limitsFor(env: Env, principal: Principal): UsageLimits | null {
  return principal.scopes.includes("tickerq:admin") ? null : readSettings(env).limits;
}

export function checkCronInterval(expression: string, limits: UsageLimits | null): void {
  if (!limits || limits.minCronIntervalMs === 0) return;
  const interval = shortestIntervalMs(expression);
  if (interval >= limits.minCronIntervalMs) return;
  const message = `fires ${interval / 1000} s apart at its closest; this deployment allows at least ${limits.minCronIntervalMs / 1000} s between runs`;
  throw new ApiError(400, "validation_error", `Invalid request: cronExpression: ${message}`, [{ path: "cronExpression", message }]);
}

export async function ensureRecurringRoom(env: Env, limits: UsageLimits | null): Promise<void> {
  if (!limits) return;
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM recurring_jobs`).first<{ n: number }>();
  if ((row?.n ?? 0) >= limits.maxRecurringJobs) {
    throw new ApiError(409, "recurring_job_limit", `This deployment allows at most ${limits.maxRecurringJobs} recurring jobs; delete one first.`);
  }
}

/** A queue comes into being when something names it: refuses names that would pass the queue limit. */
export async function ensureQueueRoom(env: Env, names: string[], limits: UsageLimits | null): Promise<void> {
  if (!limits) return;
  const unused = await unusedQueueNames(env, names);
  if (!unused.length) return;
  const inUse = (await queuesInUse(env)).length;
  if (inUse + unused.length > limits.maxQueues) {
    throw new ApiError(
      409,
      "queue_limit",
      `This deployment allows at most ${limits.maxQueues} queues and ${inUse} are in use, so queue "${unused[0]}" cannot be created; use an existing queue or ask an admin.`,
    );
  }
}

/** Raising a queue's workers must keep the sum over all queues within the limit; lowering is always allowed. */
export async function ensureWorkersRoom(env: Env, queue: string, workers: number | undefined, limits: UsageLimits | null): Promise<void> {
  if (!limits || workers === undefined) return;
  const queues = await queuesInUse(env);
  const current = queues.find((q) => q.name === queue)?.workers ?? DEFAULT_WORKERS;
  if (workers <= current) return;
  const others = queues.filter((q) => q.name !== queue).reduce((sum, q) => sum + (q.workers ?? DEFAULT_WORKERS), 0);
  if (others + workers > limits.maxTotalWorkers) {
    throw new ApiError(
      409,
      "worker_limit",
      `This deployment allows at most ${limits.maxTotalWorkers} workers over all queues; the other queues have ${others}, so this one can have at most ${Math.max(0, limits.maxTotalWorkers - others)}.`,
    );
  }
}
