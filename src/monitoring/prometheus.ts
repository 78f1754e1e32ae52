import type { Family } from "../metrics/prometheus";
import type { EndpointSummary } from "./endpoint-directory";

/**
 * Prometheus label values for endpoints: the name, as seed 002 labels them. Names need not be
 * unique, and two series with the same labels would break the scrape, so a repeated name gets the
 * endpoint's id appended: "web (ep-2)".
 */
function labelNames(endpoints: EndpointSummary[]): Map<string, string> {
  const seen = new Set<string>();
  const out = new Map<string, string>();
  for (const e of endpoints) {
    const label = seen.has(e.name) ? `${e.name} (${e.id})` : e.name;
    seen.add(e.name);
    out.set(e.id, label);
  }
  return out;
}

/** A disabled endpoint is not checked any more: its last status is not a current one. */
const isOnline = (e: EndpointSummary) => e.enabled && e.status === "online";

/**
 * Seed 002's `pulse_*` families. `pulse_system_uptime` is the time since monitoring began: since
 * the oldest endpoint was created (0 without endpoints), as a Worker has no process that stays up.
 */
export function endpointFamilies(endpoints: EndpointSummary[], now: number): Family[] {
  const names = labelNames(endpoints);
  const labels = (e: EndpointSummary) => ({ endpoint: names.get(e.id)!, group: e.group ?? "" });
  const first = endpoints.reduce<number | null>((min, e) => (min == null ? e.createdAt : Math.min(min, e.createdAt)), null);
  return [
    {
      name: "pulse_endpoint_status",
      help: "Current status of monitoring endpoints (1=online, 0=offline)",
      type: "gauge",
      samples: endpoints.map((e) => ({ labels: labels(e), value: isOnline(e) ? 1 : 0 })),
    },
    {
      name: "pulse_endpoint_response_time",
      help: "Response time in milliseconds",
      type: "gauge",
      samples: endpoints.map((e) => ({ labels: labels(e), value: isOnline(e) ? (e.lastResponseTimeMs ?? 0) : 0 })),
    },
    {
      name: "pulse_checks_total",
      help: "Total number of monitoring checks performed",
      type: "counter",
      samples: endpoints.flatMap((e) => [
        { labels: { endpoint: names.get(e.id)!, status: "success" }, value: e.checksSuccess },
        { labels: { endpoint: names.get(e.id)!, status: "failure" }, value: e.checksFailure },
      ]),
    },
    {
      name: "pulse_system_uptime",
      help: "System uptime in seconds",
      type: "gauge",
      samples: [{ labels: {}, value: first == null ? 0 : Math.max(0, Math.floor((now - first) / 1000)) }],
    },
  ];
}
