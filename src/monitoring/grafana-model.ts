import { z } from "zod";
import { GrafanaRange as Range } from "../model/grafana";
import { RESPONSE_TIME_AGGREGATIONS } from "./check-stats";
import { ENDPOINT_STATUSES } from "./endpoint-model";

// Grafana sends more fields than these and adds new ones over versions: bodies are parsed loosely
// (unknown fields ignored) but every field used is checked.

export const ENDPOINT_METRICS = {
  availability: "Successful checks among all, % per time bucket",
  response_time: "Response time of successful checks, ms (aggregation avg, min, max or p95 per interval)",
  status_count: "Endpoints in a status now (status online, offline or unknown; one point at the end of the range)",
} as const;
export type EndpointMetric = keyof typeof ENDPOINT_METRICS;
const MetricName = z.enum(Object.keys(ENDPOINT_METRICS) as [EndpointMetric, ...EndpointMetric[]]);

/** Endpoint ids (`ep-123`): letters, digits and `_ . : -`, which also keeps them plain JSON path keys. */
export const EndpointIdSchema = z.string().min(1).max(100).regex(/^[\w.:-]+$/, "must be an endpoint id such as ep-123");
export const IntervalSchema = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d|w)$/, 'must be a duration such as "30s", "5m" or "1h"');

/** Seed 002's target fields; given on the target itself (as the seed writes them), in `payload` (newer plugin) or in `data` (older one). */
export const EndpointTargetOptions = z.object({
  endpointId: EndpointIdSchema.optional(),
  aggregation: z.enum(RESPONSE_TIME_AGGREGATIONS).optional(),
  interval: IntervalSchema.optional(),
  status: z.enum(ENDPOINT_STATUSES).optional(),
});

/** Some plugin versions send the payload as the editor's JSON text. */
const OptionsOrJsonText = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  try {
    return v.trim() ? JSON.parse(v) : undefined;
  } catch {
    return v;
  }
}, EndpointTargetOptions.optional());

const Target = EndpointTargetOptions.extend({
  target: MetricName.optional(),
  refId: z.string().optional(),
  hide: z.boolean().optional(),
  payload: OptionsOrJsonText,
  data: OptionsOrJsonText,
});
export type EndpointTarget = z.output<typeof Target>;

const AdhocFilter = z.object({ key: z.literal("endpointId"), operator: z.literal("="), value: EndpointIdSchema });

/** POST /query: Grafana's query, or one of seed 002's sample queries (a bare target) on its own. */
export const EndpointGrafanaQueryBody = z.preprocess(
  (body) => (body && typeof body === "object" && !Array.isArray(body) && !("targets" in body) && "target" in body ? { targets: [body] } : body),
  z.object({
    range: Range.optional().describe("default: the last 6 hours"),
    interval: IntervalSchema.optional(),
    intervalMs: z.number().positive().optional(),
    maxDataPoints: z.number().int().positive().optional(),
    targets: z.array(Target).max(50),
    adhocFilters: z.array(AdhocFilter).optional(),
  }),
);
export type EndpointGrafanaQuery = z.output<typeof EndpointGrafanaQueryBody>;

export const EndpointAnnotationsBody = z.object({
  range: Range,
  annotation: z.object({ name: z.string().optional(), query: z.string().max(500).optional() }).loose(),
});
export const SearchBody = z.object({ target: z.string().max(200).optional(), type: z.string().optional() });
export const PayloadOptionsBody = z.object({ metric: z.string().optional(), payload: z.unknown().optional(), name: z.string() });
export const VariableBody = z.object({ payload: z.object({ target: z.string().optional() }).loose().optional() });
export const TagValuesBody = z.object({ key: z.literal("endpointId") });
