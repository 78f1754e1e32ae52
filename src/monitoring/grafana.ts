import { z } from "zod";
import { intervalMs } from "../metrics/grafana";
import { availability, responseTime, type CheckStats } from "./check-stats";
import type { EndpointGrafanaQuery, EndpointTarget } from "./grafana-model";
import { resolvePeriod } from "../http/period";
import { DAY_MS, HOUR_MS } from "./rollup-reader";
import { statsSeries, type SeriesRequest, type StatsSeries } from "./series";

type TimeSeries = { target: string; refId?: string; datapoints: [number | null, number][] };

/** The range Grafana did not send (seed 002's bare sample queries): its own default, the last 6 hours. */
const DEFAULT_RANGE_MS = 6 * HOUR_MS;
const DEFAULT_MAX_POINTS = 1000;
/**
 * Hour rollups are read a day per D1 query and an invocation may make 1,000 queries, so a range
 * is bounded (the history export covers longer periods).
 */
export const MAX_RANGE_DAYS = 90;

const label = (metric: string, labels: Record<string, string | undefined>) => {
  const set = Object.entries(labels).filter((e): e is [string, string] => e[1] !== undefined);
  return set.length ? `${metric}{${set.map(([k, v]) => `${k}="${v}"`).join(",")}}` : metric;
};

/** POST /query of /api/grafana: one series per target, from the packed rollups and the endpoints' live status. */
export async function endpointGrafanaQuery(env: Env, q: EndpointGrafanaQuery, now: number): Promise<TimeSeries[]> {
  const { from, to } = resolvePeriod(
    { from: q.range?.from, to: q.range?.to },
    { now, defaultDays: DEFAULT_RANGE_MS / DAY_MS, maxDays: MAX_RANGE_DAYS, names: ["range.from", "range.to"] },
  );
  const adhocEndpoint = q.adhocFilters?.find((f) => f.key === "endpointId")?.value;
  // Availability and response time of the same endpoint and step come from the same checks: read them once.
  const reads = new Map<string, Promise<StatsSeries>>();
  const series = (req: SeriesRequest) => {
    const key = JSON.stringify([req.endpointId ?? null, req.stepMs, req.maxSlots]);
    if (!reads.has(key)) reads.set(key, statsSeries(env, req));
    return reads.get(key)!;
  };
  const targets = q.targets.filter((t): t is EndpointTarget & { target: NonNullable<EndpointTarget["target"]> } => !!t.target && !t.hide);
  return Promise.all(
    targets.map(async (t) => {
      const o = { ...t, ...t.data, ...t.payload };
      const endpointId = o.endpointId ?? adhocEndpoint;
      if (t.target === "status_count") {
        const status = o.status ?? "online";
        return { target: label("status_count", { status, endpointId }), refId: t.refId, datapoints: [[await countInStatus(env, status, endpointId), Math.min(to, now)]] };
      }
      const stepMs = intervalMs(o.interval) ?? q.intervalMs ?? intervalMs(q.interval) ?? 0;
      const read = await series({ from, to, stepMs, endpointId, maxSlots: q.maxDataPoints ?? DEFAULT_MAX_POINTS });
      const aggregation = o.aggregation ?? "avg";
      const value = (s: CheckStats) => (t.target === "availability" ? availability(s) : responseTime(s, aggregation));
      const name = t.target === "availability" ? label("availability", { endpointId }) : label("response_time", { endpointId, aggregation });
      return { target: name, refId: t.refId, datapoints: read.slots.map((s, i): [number | null, number] => [value(s), read.start + i * read.step]) };
    }),
  );
}

const CountRow = z.object({ n: z.number().int() });

/** Enabled endpoints in a status now (a disabled endpoint's status is no longer checked). */
async function countInStatus(env: Env, status: string, endpointId: string | undefined): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM endpoints WHERE enabled = 1 AND status = ?1 AND (?2 IS NULL OR id = ?2)`)
    .bind(status, endpointId ?? null)
    .first();
  return CountRow.parse(row).n;
}

const ChangeRow = z.object({
  endpoint_id: z.string(),
  at: z.number().int(),
  status: z.string(),
  previous_status: z.string().nullable(),
  response_time_ms: z.number().nullable(),
  name: z.string().nullable(),
});

export const MAX_ANNOTATIONS = 500;

/** POST /annotations: endpoint status changes in the range; the annotation's query text may say "endpointId=ID". */
export async function endpointAnnotations(env: Env, range: { from: number; to: number }, queryText: string | undefined, annotation: unknown) {
  const endpointId = /(?:^|\s)endpointId=(\S+)/.exec(queryText ?? "")?.[1] ?? null;
  const { results } = await env.DB.prepare(
    `SELECT c.endpoint_id, c.at, c.status, c.previous_status, c.response_time_ms, e.name FROM endpoint_status_changes c LEFT JOIN endpoints e ON e.id = c.endpoint_id
     WHERE c.at >= ?1 AND c.at <= ?2 AND (?3 IS NULL OR c.endpoint_id = ?3) ORDER BY c.at DESC LIMIT ${MAX_ANNOTATIONS}`,
  )
    .bind(range.from, range.to, endpointId)
    .all();
  return results
    .map((raw) => {
      const c = ChangeRow.parse(raw);
      const name = c.name ?? c.endpoint_id;
      return {
        annotation,
        time: c.at,
        title: `${name} is ${c.status}`,
        text: `${name} changed from ${c.previous_status ?? "unknown"} to ${c.status}${c.response_time_ms == null ? "" : ` (${c.response_time_ms} ms)`}`,
        tags: ["endpoint.status_changed", c.status, c.endpoint_id],
      };
    })
    .sort((a, b) => a.time - b.time);
}
