import { z } from "zod";

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");
const positiveInt = (fallback: number) => z.coerce.number().int().positive().catch(fallback);

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
};

/** Reads the deployment's vars once per call site; invalid values fall back to safe defaults. */
export function readSettings(env: Partial<Env>): Settings {
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
  };
}

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 256 * 1024;
/** POST /jobs/batch carries up to 1,000 jobs, so it gets a larger limit. */
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;
export const MAX_BATCH_JOBS = 1000;
