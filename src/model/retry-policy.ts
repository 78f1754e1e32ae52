import type { Settings } from "../config";

/**
 * Delay before the next attempt: exponential in the retries so far, capped, with "equal jitter"
 * (half fixed, half random) so retries spread out yet each delay still grows.
 */
export function retryDelayMs(retriesSoFar: number, settings: Pick<Settings, "retryBaseDelayMs" | "retryMaxDelayMs">, random = Math.random): number {
  const exp = Math.min(settings.retryMaxDelayMs, settings.retryBaseDelayMs * 2 ** Math.min(retriesSoFar, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
