import { z } from "zod";
import { hostOf } from "../net/redact";

/** What the metrics know about webhook deliveries, read from the webhooks feature's own counters. */
export type WebhookHealth = {
  available: boolean;
  /** Endpoints that are disabled for failures or whose latest deliveries keep failing. */
  /** Named by id and host only: a webhook URL may be a credential (Slack, Teams) and metrics are for read keys. */
  failingEndpoints: { id: string; host: string; consecutiveFailures: number; disabled: boolean }[];
  /** Deliveries by endpoint and outcome since the beginning (a Prometheus counter). */
  deliveries: { endpoint: string; outcome: "succeeded" | "failed" | "pending"; count: number }[];
};

/** Consecutive failed deliveries from which an endpoint counts as failing (before it is disabled). */
export const FAILING_AFTER = 3;

const EndpointRow = z.object({
  id: z.string(),
  url: z.string(),
  enabled: z.number(),
  disabled_reason: z.string().nullable(),
  consecutive_failures: z.number(),
  succeeded_deliveries: z.number(),
  failed_deliveries: z.number(),
  pending: z.number(),
});

export async function webhookHealth(env: Env): Promise<WebhookHealth> {
  const { results } = await env.DB.prepare(
    `SELECT e.id, e.url, e.enabled, e.disabled_reason, e.consecutive_failures, e.succeeded_deliveries, e.failed_deliveries,
            (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending') AS pending
     FROM webhook_endpoints e ORDER BY e.id`,
  ).all();
  const endpoints = results.map((r) => EndpointRow.parse(r));
  return {
    available: true,
    failingEndpoints: endpoints
      .filter((e) => (e.enabled === 0 && e.disabled_reason != null) || e.consecutive_failures >= FAILING_AFTER)
      .map((e) => ({ id: e.id, host: hostOf(e.url), consecutiveFailures: e.consecutive_failures, disabled: e.enabled === 0 })),
    deliveries: endpoints.flatMap((e) => [
      { endpoint: e.id, outcome: "succeeded" as const, count: e.succeeded_deliveries },
      { endpoint: e.id, outcome: "failed" as const, count: e.failed_deliveries },
      { endpoint: e.id, outcome: "pending" as const, count: e.pending },
    ]),
  };
}
