import { describe, expect, it } from "vitest";
import { MAX_QUEUE_DELAY_SECONDS, parseRetryAfter, retryDelaySeconds } from "../src/webhooks/retry";

describe("webhook retry delays", () => {
  const policy = (backoff: "exponential" | "linear" | "fixed") => ({ maxRetries: 5, retryDelayMs: 30_000, backoff });

  it("grows by the policy's backoff", () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy("exponential"), n, null))).toEqual([30, 60, 120, 240]);
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy("linear"), n, null))).toEqual([30, 60, 90, 120]);
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy("fixed"), n, null))).toEqual([30, 30, 30, 30]);
  });

  it("waits longer when Retry-After asks for it, never shorter, and never past the queue's limit", () => {
    expect(retryDelaySeconds(policy("fixed"), 1, 120)).toBe(120);
    expect(retryDelaySeconds(policy("fixed"), 1, 5)).toBe(30);
    expect(retryDelaySeconds(policy("exponential"), 12, null)).toBe(MAX_QUEUE_DELAY_SECONDS);
    expect(retryDelaySeconds(policy("fixed"), 1, 10 * 86_400)).toBe(MAX_QUEUE_DELAY_SECONDS);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2024-01-15T10:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter(" 7 ", now)).toBe(7);
    expect(parseRetryAfter("Mon, 15 Jan 2024 10:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("Mon, 15 Jan 2024 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
