import { z } from "zod";
import { EndpointConfigSchema } from "./endpoint-model";

/** One check to run: the endpoint's check settings travel with it, so the consumer reads nothing. */
export const CheckTaskSchema = EndpointConfigSchema.pick({ address: true, type: true, port: true, scheme: true, path: true, method: true, expectedStatus: true, timeoutMs: true }).extend({
  endpointId: z.string().min(1).max(100),
  /** When the check is due (epoch ms): it is started then, not before; together with endpointId it names the check. */
  dueAt: z.number().int(),
});
export type CheckTask = z.infer<typeof CheckTaskSchema>;

export const MAX_CHECKS_PER_MESSAGE = 100;

/** The body of an exec queue message that carries a group of endpoint checks of one shard. */
export const EndpointChecksMessageSchema = z.object({
  kind: z.literal("endpoint-checks"),
  shard: z.number().int().min(0),
  checks: z.array(CheckTaskSchema).min(1).max(MAX_CHECKS_PER_MESSAGE),
});
export type EndpointChecksMessage = z.infer<typeof EndpointChecksMessageSchema>;

export const CheckResultSchema = z.object({
  endpointId: z.string().min(1).max(100),
  dueAt: z.number().int(),
  startedAt: z.number().int(),
  ok: z.boolean(),
  /** ms; null when the check failed. */
  responseTimeMs: z.number().nonnegative().nullable(),
  error: z.string().max(500).nullable(),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const ReportInput = z.object({ shard: z.number().int().min(0), results: z.array(CheckResultSchema).max(1000) });
export const ShardInput = z.object({ shard: z.number().int().min(0) });
export const StatsInput = ShardInput.extend({ samples: z.number().int().min(1).max(10_000).default(1000) });
export const UpsertInput = z.object({ config: EndpointConfigSchema, reEnabled: z.boolean() });
export const RemoveInput = z.object({ shard: z.number().int().min(0), endpointId: z.string().min(1).max(100) });
