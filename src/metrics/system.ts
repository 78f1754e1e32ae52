import { formatTimeSpan, iso } from "../lib/time";
import { runQueries } from "./batch";
import { archivedJobCountQuery, liveQueues, recentOutcomesQuery, type QueueGauges } from "./gauges";
import { round2 } from "./rollups";
import { webhookHealth, type WebhookHealth } from "./webhook-health";

export type HealthLevel = "healthy" | "degraded" | "unhealthy";

/** The health verdict's thresholds (documented in the README). */
export const HEALTH = {
  failureWindowMs: 15 * 60_000,
  /** Fewer finished jobs than this in the window say too little to judge a failure rate. */
  failureRateMinJobs: 20,
  failureRateDegradedPercent: 10,
  failureRateUnhealthyPercent: 50,
  /** A due job waiting longer than this in a queue that is not paused means work is falling behind. */
  overdueDegradedMs: 5 * 60_000,
  overdueUnhealthyMs: 30 * 60_000,
  /** Any running job past its lease is degraded; past it for this long, recovery is not running. */
  stuckUnhealthyMs: 10 * 60_000,
} as const;

const RANK: Record<HealthLevel, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
const worst = (levels: HealthLevel[]) => levels.reduce<HealthLevel>((a, b) => (RANK[b] > RANK[a] ? b : a), "healthy");
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** GET /metrics/system: the seed's overview, the verdict and the reasons behind it. */
export async function systemMetrics(env: Env, now: number, colo: string | null) {
  const [live, [outcomes, archivedJobs], webhooks] = await Promise.all([
    liveQueues(env),
    runQueries(env.DB, recentOutcomesQuery(env.DB, now, HEALTH.failureWindowMs), archivedJobCountQuery(env.DB)),
    webhookHealth(env),
  ]);
  const queues = live.map((q) => q.gauges);
  const totalJobs = archivedJobs + sum(live, (q) => q.held);
  const checks = {
    failureRate: failureRateCheck(outcomes),
    stuckJobs: stuckJobsCheck(queues, now),
    overduePending: overdueCheck(queues, now),
    webhooks: webhooksCheck(webhooks),
  };
  const all = Object.values(checks);
  return {
    timestamp: iso(now),
    systemHealth: worst(all.map((c) => c.status).filter((s): s is HealthLevel => s !== "unknown")),
    totalJobs,
    activeWorkers: sum(queues, (q) => q.running),
    queueLength: sum(queues, (q) => q.pending),
    dueJobs: sum(queues, (q) => q.due),
    reasons: all.flatMap((c) => c.reason ?? []),
    checks,
    // Workers expose neither memory nor CPU use of an isolate; these stay null rather than invented.
    memoryUsage: null,
    cpuUsage: null,
    runtime: { platform: "cloudflare-workers", isolateMemoryLimit: "128MB", resourceUsageMeasurable: false, colo },
  };
}

export function failureRateCheck(o: { completed: number; failed: number }) {
  const finished = o.completed + o.failed;
  const rate = finished ? round2((100 * o.failed) / finished) : null;
  let status: HealthLevel = "healthy";
  if (rate != null && finished >= HEALTH.failureRateMinJobs) {
    if (rate >= HEALTH.failureRateUnhealthyPercent) status = "unhealthy";
    else if (rate >= HEALTH.failureRateDegradedPercent) status = "degraded";
  }
  return {
    status,
    window: formatTimeSpan(HEALTH.failureWindowMs),
    completed: o.completed,
    failed: o.failed,
    failureRate: rate,
    reason: status === "healthy" ? undefined : `${rate}% of the ${finished} jobs that finished in the last 15 minutes failed`,
  };
}

export function stuckJobsCheck(queues: QueueGauges[], now: number) {
  const count = sum(queues, (q) => q.leaseExpired);
  const oldest = min(queues.map((q) => q.oldestLeaseExpiredAt));
  const pastMs = oldest == null ? null : now - oldest;
  const status: HealthLevel = !count ? "healthy" : pastMs! >= HEALTH.stuckUnhealthyMs ? "unhealthy" : "degraded";
  return {
    status,
    count,
    oldestLeaseExpiredAt: iso(oldest),
    reason: count ? `${plural(count, "running job")} past ${count === 1 ? "its" : "their"} lease (the oldest for ${formatTimeSpan(pastMs)}); the reconciler takes them back` : undefined,
  };
}

export function overdueCheck(queues: QueueGauges[], now: number) {
  const candidates = queues.filter((q) => !q.paused && q.oldestDueRunAt != null).sort((a, b) => a.oldestDueRunAt! - b.oldestDueRunAt!);
  const oldest = candidates[0];
  const overdueMs = oldest ? now - oldest.oldestDueRunAt! : 0;
  const status: HealthLevel = overdueMs >= HEALTH.overdueUnhealthyMs ? "unhealthy" : overdueMs >= HEALTH.overdueDegradedMs ? "degraded" : "healthy";
  return {
    status,
    queue: oldest?.queue ?? null,
    scheduledAt: iso(oldest?.oldestDueRunAt),
    overdueBy: oldest ? formatTimeSpan(overdueMs) : null,
    overdueMs,
    pausedQueues: queues.filter((q) => q.paused).map((q) => q.queue),
    reason: status === "healthy" ? undefined : `the oldest due job in queue "${oldest!.queue}" has waited ${formatTimeSpan(overdueMs)} past its run time`,
  };
}

function webhooksCheck(w: WebhookHealth) {
  const status: HealthLevel | "unknown" = !w.available ? "unknown" : w.failingEndpoints.length ? "degraded" : "healthy";
  return {
    status,
    available: w.available,
    failingEndpoints: w.failingEndpoints,
    reason: status === "degraded" ? `${plural(w.failingEndpoints.length, "webhook endpoint")} failing: ${w.failingEndpoints.map((e) => `${e.id} (${e.host})`).join(", ")}` : undefined,
  };
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
const min = (xs: (number | null)[]) => xs.reduce<number | null>((a, x) => (x == null ? a : a == null ? x : Math.min(a, x)), null);
