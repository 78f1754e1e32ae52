/**
 * What the metrics know about webhook deliveries. The webhooks feature owns its tables; until its
 * queries are wired in here, `available` is false: the health verdict says so instead of guessing,
 * and /metrics leaves out the webhook families.
 */
export type WebhookHealth = {
  available: boolean;
  /** Endpoints that are disabled for failures or whose latest deliveries keep failing. */
  failingEndpoints: { id: string; url: string; consecutiveFailures: number; disabled: boolean }[];
  /** Deliveries by endpoint and outcome since the beginning (a Prometheus counter). */
  deliveries: { endpoint: string; outcome: "succeeded" | "failed" | "pending"; count: number }[];
};

export async function webhookHealth(_env: Env): Promise<WebhookHealth> {
  return { available: false, failingEndpoints: [], deliveries: [] };
}
