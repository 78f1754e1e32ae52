/** Cloudflare Queues delays a retried message by at most 12 hours. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

export type RetryPolicy = { maxRetries: number; retryDelayMs: number; backoff: "exponential" | "linear" | "fixed" };

/** Delay before retry number `retry` (1-based): the policy's backoff, or longer if the receiver asked for it with Retry-After. */
export function retryDelaySeconds(policy: RetryPolicy, retry: number, retryAfterSeconds: number | null): number {
  const factor = policy.backoff === "exponential" ? 2 ** (retry - 1) : policy.backoff === "linear" ? retry : 1;
  const backoff = Math.ceil((policy.retryDelayMs * factor) / 1000);
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(backoff, retryAfterSeconds ?? 0));
}

/** Retry-After as seconds from `now`: either delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
