import { z } from "zod";

// Grafana sends more fields than these (panelId, scopedVars, requestId, ...) and adds new ones over
// versions, so bodies are parsed loosely (unknown fields ignored) but every field used is checked.
const GrafanaInstant = z.iso.datetime({ offset: true });
export const GrafanaRange = z.object({ from: GrafanaInstant, to: GrafanaInstant }).refine((r) => Date.parse(r.from) <= Date.parse(r.to), { message: "from must not be after to", path: ["from"] });

export const GRAFANA_METRICS = {
  jobs_finished: "Jobs that reached a terminal state",
  jobs_completed: "Completed jobs",
  jobs_failed: "Failed jobs",
  jobs_cancelled: "Cancelled jobs",
  jobs_retried: "Failed attempts that were retried",
  success_rate: "Completed among completed and failed, %",
  avg_duration_seconds: "Average final-attempt duration of completed and failed jobs, s",
  queue_length: "Jobs waiting now (one point at the end of the range)",
  jobs_running: "Jobs running now (one point at the end of the range)",
} as const;
export type GrafanaMetric = keyof typeof GRAFANA_METRICS;
const MetricName = z.enum(Object.keys(GRAFANA_METRICS) as [GrafanaMetric, ...GrafanaMetric[]]);

export const GRAFANA_TAG_KEYS = ["queue", "type"] as const;

/** What a target may carry in its payload (newer plugin) or data (older one). */
export const TargetOptions = z.object({
  queue: z.string().min(1).max(100).optional(),
  type: z.string().min(1).max(100).optional(),
  groupBy: z.enum(["queue", "type"]).optional(),
  format: z.enum(["time_series", "table"]).optional(),
});

const Target = z.object({
  target: MetricName.optional(),
  refId: z.string().optional(),
  /** Older plugin versions: "timeserie" or "table". */
  type: z.enum(["timeserie", "timeseries", "table"]).optional(),
  hide: z.boolean().optional(),
  payload: TargetOptions.optional(),
  data: TargetOptions.optional(),
});

export const AdhocFilter = z.object({ key: z.enum(GRAFANA_TAG_KEYS), operator: z.literal("="), value: z.string() });

export const GrafanaQueryBody = z.object({
  range: GrafanaRange,
  interval: z.string().optional(),
  intervalMs: z.number().positive().optional(),
  maxDataPoints: z.number().int().positive().optional(),
  targets: z.array(Target).max(50),
  adhocFilters: z.array(AdhocFilter).optional(),
});
export type GrafanaQuery = z.output<typeof GrafanaQueryBody>;

export const GrafanaSearchBody = z.object({ target: z.string().max(200).optional(), type: z.string().optional() });

export const GrafanaAnnotationsBody = z.object({
  range: GrafanaRange,
  annotation: z.object({ name: z.string().optional(), query: z.string().max(500).optional() }).loose(),
});

export const GrafanaTagValuesBody = z.object({ key: z.enum(GRAFANA_TAG_KEYS) });
export const GrafanaPayloadOptionsBody = z.object({ metric: z.string().optional(), payload: z.unknown().optional(), name: z.string() });
export const GrafanaVariableBody = z.object({ payload: z.object({ target: z.string().optional() }).loose().optional() });
