import { z } from "zod";

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");
const positiveInt = (fallback: number) => z.coerce.number().int().positive().catch(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).catch(fallback);

const SettingsSchema = z.object({
  API_BASE_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9/_-]*$/)
    .transform((p) => p.replace(/\/+$/, "") || "")
    .catch("/api/tickerq"),
  ALLOW_PRIVATE_TARGETS: flag.catch(false),
  FAULT_INJECTION: flag.catch(false),
  RETRY_BASE_DELAY_MS: positiveInt(1000),
  RETRY_MAX_DELAY_MS: positiveInt(300_000),
  RETENTION_DAYS: positiveInt(30),
  METRICS_RETENTION_DAYS: positiveInt(400),
  SELF_RECONCILE: flag.catch(false),
  DEV_JOB_TYPES: flag.catch(false),
  MIN_CRON_INTERVAL_SECONDS: nonNegativeInt(60),
  MAX_RECURRING_JOBS: positiveInt(1000),
  MAX_QUEUES: positiveInt(100),
  MAX_TOTAL_WORKERS: positiveInt(500),
  MAX_ENDPOINTS: positiveInt(1000),
  MAX_JOBS_PER_INVOCATION: z.coerce.number().int().min(1).max(5000).catch(1000),
  MIN_ENDPOINT_INTERVAL_SECONDS: positiveInt(10),
  MONITOR_SHARDS: z.coerce.number().int().min(1).max(1000).catch(1),
  ENDPOINT_FLUSH_SECONDS: positiveInt(60),
  ENDPOINT_RAW_RETENTION_HOURS: positiveInt(48),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ?? "").split(",").map((o) => o.trim().replace(/\/+$/, "")).filter(Boolean))
    .catch([]),
});

export type Settings = {
  basePath: string;
  allowPrivateTargets: boolean;
  faultInjection: boolean;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Finished jobs (with their attempts and logs) are purged this long after they finished. */
  retentionMs: number;
  /** Hourly metrics rollups are kept this long; the all-time totals are never purged. */
  metricsRetentionMs: number;
  /** Request- and batch-driven reconciliation, for local development where crons do not fire. */
  selfReconcile: boolean;
  /** Lets echo keep a ledger and sleep longer than ECHO_MAX_SLEEP_MS (tests, the fault suite, benchmarks). */
  devJobTypes: boolean;
  /**
   * Most jobs one exec consumer invocation runs: its batch's, then due jobs of the same queues it
   * takes as attempts end (see execution/chain.ts). They share the invocation's subrequests.
   */
  maxJobsPerInvocation: number;
  /** Browser origins (scheme://host[:port]) that may call the API cross-origin; empty: no CORS headers at all. */
  corsOrigins: string[];
  /** The limits below bind every key without the admin scope; see src/services/usage-limits.ts. */
  limits: UsageLimits;
  monitoring: MonitoringSettings;
};

export type MonitoringSettings = {
  /** Shortest check interval any endpoint may have. */
  minIntervalSeconds: number;
  /** EndpointMonitor objects; an endpoint's shard is chosen when it is created and kept. */
  shards: number;
  /** Longest time a monitor holds checks before writing them to D1 (a status change is written at once). */
  flushMs: number;
  /** Minute rollups (raw checks) are kept this long; hour rollups as long as the metrics rollups. */
  rawRetentionMs: number;
};

export type UsageLimits = {
  /** Shortest time between two fire times of a recurring job's cron expression (0: no minimum). */
  minCronIntervalMs: number;
  maxRecurringJobs: number;
  /** Distinct queues: a queue comes into being when a job, a recurring job or PATCH /queues names it. */
  maxQueues: number;
  /** Sum of `workers` over every queue (a queue not configured counts at its default). */
  maxTotalWorkers: number;
  maxEndpoints: number;
};

/** Settings already read, by env object: vars do not change while an isolate lives. */
const readFor = new WeakMap<object, Settings>();

/** The deployment's vars as settings; invalid values fall back to safe defaults. */
export function readSettings(env: Partial<Env>): Settings {
  let settings = readFor.get(env);
  if (!settings) readFor.set(env, (settings = parseSettings(env)));
  return settings;
}

function parseSettings(env: Partial<Env>): Settings {
  const s = SettingsSchema.parse(env);
  return {
    basePath: s.API_BASE_PATH,
    allowPrivateTargets: s.ALLOW_PRIVATE_TARGETS,
    faultInjection: s.FAULT_INJECTION,
    retryBaseDelayMs: s.RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: s.RETRY_MAX_DELAY_MS,
    retentionMs: s.RETENTION_DAYS * 86_400_000,
    metricsRetentionMs: s.METRICS_RETENTION_DAYS * 86_400_000,
    selfReconcile: s.SELF_RECONCILE,
    devJobTypes: s.DEV_JOB_TYPES,
    maxJobsPerInvocation: s.MAX_JOBS_PER_INVOCATION,
    corsOrigins: s.CORS_ORIGINS,
    limits: {
      minCronIntervalMs: s.MIN_CRON_INTERVAL_SECONDS * 1000,
      maxRecurringJobs: s.MAX_RECURRING_JOBS,
      maxQueues: s.MAX_QUEUES,
      maxTotalWorkers: s.MAX_TOTAL_WORKERS,
      maxEndpoints: s.MAX_ENDPOINTS,
    },
    monitoring: {
      minIntervalSeconds: s.MIN_ENDPOINT_INTERVAL_SECONDS,
      shards: s.MONITOR_SHARDS,
      flushMs: s.ENDPOINT_FLUSH_SECONDS * 1000,
      rawRetentionMs: s.ENDPOINT_RAW_RETENTION_HOURS * 3_600_000,
    },
  };
}

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 256 * 1024;
/** POST /jobs/batch carries up to 1,000 jobs, so it gets a larger limit. */
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;
export const MAX_BATCH_JOBS = 1000;
