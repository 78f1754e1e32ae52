import type { LiveState, LiveStatus } from "./endpoint-model";
import type { CheckResult } from "./check-messages";

export type StatusChange = { status: "online" | "offline"; previousStatus: LiveStatus; at: number; responseTimeMs: number | null };

/**
 * One accepted check applied to an endpoint's live state: `failureThreshold` consecutive failures
 * make it offline, one success makes it online. The first determination is a change too (from "unknown").
 */
export function applyCheck(live: LiveState, failureThreshold: number, check: Pick<CheckResult, "ok" | "startedAt" | "responseTimeMs">): { live: LiveState; change: StatusChange | null } {
  const consecutiveFailures = check.ok ? 0 : live.consecutiveFailures + 1;
  const next: LiveState = {
    ...live,
    lastCheckedAt: check.startedAt,
    lastResponseTimeMs: check.ok ? check.responseTimeMs : null,
    consecutiveFailures,
    checksSuccess: live.checksSuccess + (check.ok ? 1 : 0),
    checksFailure: live.checksFailure + (check.ok ? 0 : 1),
  };
  const status = check.ok ? "online" : consecutiveFailures >= failureThreshold ? "offline" : live.status;
  if (status === live.status || status === "unknown") return { live: next, change: null };
  return {
    live: { ...next, status, previousStatus: live.status, statusChangedAt: check.startedAt },
    change: { status, previousStatus: live.status, at: check.startedAt, responseTimeMs: check.ok ? check.responseTimeMs : null },
  };
}

export const UNKNOWN_LIVE: LiveState = {
  status: "unknown",
  previousStatus: null,
  statusChangedAt: null,
  lastCheckedAt: null,
  lastResponseTimeMs: null,
  consecutiveFailures: 0,
  checksSuccess: 0,
  checksFailure: 0,
};
