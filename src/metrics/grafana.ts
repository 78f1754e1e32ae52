import { z } from "zod";
import { jobTypeNames } from "../jobs/registry";
import type { GrafanaMetric, GrafanaQuery } from "../model/grafana";
import { runQueries, type Query } from "./batch";
import { queueGauges, type QueueGauges } from "./gauges";
import { averageMs, byQueueAndTypeQuery, finished, HOUR_MS, hourRange, round2, seriesQuery, successRate, type Counts, type RollupFilter } from "./rollups";

/** Datapoints are never finer than the rollups' hour, and never more than maxDataPoints (default 1,000, at most 10,000) per series. */
const DEFAULT_MAX_POINTS = 1000;
const MAX_POINTS = 10_000;

const VALUE: Record<Exclude<GrafanaMetric, "queue_length" | "jobs_running">, (c: Counts) => number | null> = {
  jobs_finished: finished,
  jobs_completed: (c) => c.completed,
  jobs_failed: (c) => c.failed,
  jobs_cancelled: (c) => c.cancelled,
  jobs_retried: (c) => c.retried,
  success_rate: successRate,
  avg_duration_seconds: (c) => {
    const avg = averageMs(c);
    return avg == null ? null : avg / 1000;
  },
};

type TimeSeries = { target: string; refId?: string; datapoints: [number | null, number][] };
type Table = { type: "table"; refId?: string; columns: { text: string; type: string }[]; rows: (string | number | null)[][] };

/** Parses "30s", "5m", "1h", "1d" (Grafana's interval); null when absent or unreadable. */
export function intervalMs(interval: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(interval ?? "");
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: 86_400_000, w: 604_800_000 }[m[2] as "ms"];
  return Number(m[1]) * unit;
}

/** Slot width: the panel's interval, widened so there are at most maxDataPoints slots, in whole hours. */
export function stepFor(q: GrafanaQuery, span: number): number {
  const interval = q.intervalMs ?? intervalMs(q.interval) ?? HOUR_MS;
  const perPoint = span / Math.min(q.maxDataPoints ?? DEFAULT_MAX_POINTS, MAX_POINTS);
  return Math.max(1, Math.ceil(Math.max(interval, perPoint) / HOUR_MS)) * HOUR_MS;
}

/** POST /query: a series (or a table) per target, from the hourly rollups in one D1 batch and the live gauges from the queues' schedulers. */
export async function grafanaQuery(env: Env, q: GrafanaQuery, now: number): Promise<(TimeSeries | Table)[]> {
  const range = hourRange(Date.parse(q.range.from), Date.parse(q.range.to));
  const step = stepFor(q, range.to - range.from);
  const slots = Math.ceil((range.to - range.from) / step);
  const adhoc: RollupFilter = Object.fromEntries((q.adhocFilters ?? []).map((f) => [f.key, f.value]));
  const targets = q.targets.filter((t) => t.target && !t.hide);
  const isTable = (t: (typeof targets)[number]) => t.type === "table" || (t.payload ?? t.data ?? {}).format === "table";
  const isGauge = (t: (typeof targets)[number]) => !isTable(t) && (t.target === "queue_length" || t.target === "jobs_running");
  const gauges = targets.some(isGauge) ? await queueGauges(env) : [];
  const answers = targets.map((t): Query<(TimeSeries | Table)[]> | (TimeSeries | Table)[] => {
    const options = t.payload ?? t.data ?? {};
    const filter: RollupFilter = { queue: options.queue ?? adhoc.queue, type: options.type ?? adhoc.type };
    const metric = t.target!;
    if (isTable(t)) return mapQuery(byQueueAndTypeQuery(env.DB, range, filter), (rows) => [toTable(rows, t.refId)]);
    if (metric === "queue_length" || metric === "jobs_running") {
      const queues = gauges.filter((g) => filter.queue === undefined || g.queue === filter.queue);
      const value = (g: QueueGauges) => (metric === "queue_length" ? g.pending : g.running);
      if (options.groupBy === "queue") return queues.map((g) => ({ target: `${metric}{queue="${g.queue}"}`, refId: t.refId, datapoints: [[value(g), now]] }));
      return [{ target: metric, refId: t.refId, datapoints: [[queues.reduce((a, g) => a + value(g), 0), now]] }];
    }
    const split = options.groupBy;
    return mapQuery(seriesQuery(env.DB, range, filter, step, { queue: split === "queue", type: split === "type" }), (rows) => {
      const series = new Map<string, (Counts | undefined)[]>();
      if (!split) series.set(metric, new Array(slots).fill(undefined));
      for (const r of rows) {
        const name = split ? `${metric}{${split}="${r[split]}"}` : metric;
        if (!series.has(name)) series.set(name, new Array(slots).fill(undefined));
        series.get(name)![r.slot] = r.counts;
      }
      const value = VALUE[metric];
      return [...series].map(([target, counts]) => ({
        target,
        refId: t.refId,
        datapoints: counts.map((c, slot): [number | null, number] => [value(c ?? ZERO), range.from + slot * step]),
      }));
    });
  });
  const queries = answers.filter((a): a is Query<(TimeSeries | Table)[]> => !Array.isArray(a));
  const results = queries.length ? await runQueries(env.DB, ...queries) : [];
  let next = 0;
  return answers.flatMap((a) => (Array.isArray(a) ? a : results[next++]));
}

function mapQuery<A, B>(q: Query<A>, f: (a: A) => B): Query<B> {
  return { statement: q.statement, read: (rows) => f(q.read(rows)) };
}

const ZERO: Counts = { completed: 0, failed: 0, cancelled: 0, retried: 0, timed: 0, durationMs: 0 };

function toTable(rows: { queue: string; type: string; counts: Counts }[], refId?: string): Table {
  return {
    type: "table",
    refId,
    columns: [
      { text: "Queue", type: "string" },
      { text: "Type", type: "string" },
      { text: "Finished", type: "number" },
      { text: "Completed", type: "number" },
      { text: "Failed", type: "number" },
      { text: "Cancelled", type: "number" },
      { text: "Retried", type: "number" },
      { text: "Success rate (%)", type: "number" },
      { text: "Avg duration (s)", type: "number" },
    ],
    rows: rows.map(({ queue, type, counts: c }) => {
      const avg = averageMs(c);
      return [queue, type, finished(c), c.completed, c.failed, c.cancelled, c.retried, successRate(c), avg == null ? null : round2(avg / 1000)];
    }),
  };
}

const NameRow = z.object({ name: z.string() });

/** Queue names: those with a row (configured, or named by a job) or with finished jobs on record. */
export async function queueNames(env: Env): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT queue AS name FROM job_totals UNION SELECT name FROM queues ORDER BY 1`).all();
  return results.map((r) => NameRow.parse(r).name);
}

/** Job types: every registered one and any other with finished jobs on record. */
export async function typeNames(env: Env): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT DISTINCT type AS name FROM job_totals`).all();
  return [...new Set([...jobTypeNames(), ...results.map((r) => NameRow.parse(r).name)])].sort();
}

const AnnotationJob = z.object({ id: z.string(), name: z.string(), queue: z.string(), type: z.string(), error: z.string().nullable(), completed_at: z.number().int() });
const AnnotationQueueEvent = z.object({ id: z.string(), at: z.number().int(), queue: z.string(), type: z.string(), data: z.string() });

/** Most annotations of each kind returned for one range. */
export const MAX_ANNOTATIONS = 500;

/**
 * POST /annotations: failed jobs and queue pauses, resumes and clears in the range. The
 * annotation's query text picks kinds and filters: "failed", "queue-events", "queue=NAME", "type=NAME"
 * (space-separated; no kind means both).
 */
export async function grafanaAnnotations(env: Env, range: { from: number; to: number }, queryText: string | undefined, annotation: unknown) {
  const tokens = (queryText ?? "").split(/\s+/).filter(Boolean);
  const filter = Object.fromEntries(tokens.filter((t) => /^(queue|type)=/.test(t)).map((t) => t.split("=", 2))) as RollupFilter;
  const kinds = tokens.filter((t) => t === "failed" || t === "queue-events");
  const want = (kind: string) => !kinds.length || kinds.some((k) => k === kind);
  const statements: D1PreparedStatement[] = [];
  if (want("failed")) {
    statements.push(
      env.DB.prepare(
        `SELECT id, name, queue, type, error, completed_at FROM jobs
         WHERE status = 'failed' AND completed_at >= ?1 AND completed_at <= ?2 AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR type = ?4)
         ORDER BY completed_at DESC LIMIT ${MAX_ANNOTATIONS}`,
      ).bind(range.from, range.to, filter.queue ?? null, filter.type ?? null),
    );
  }
  if (want("queue-events") && filter.type === undefined) {
    statements.push(
      env.DB.prepare(
        `SELECT id, at, queue, type, data FROM queue_events WHERE at >= ?1 AND at <= ?2 AND (?3 IS NULL OR queue = ?3) ORDER BY at DESC LIMIT ${MAX_ANNOTATIONS}`,
      ).bind(range.from, range.to, filter.queue ?? null),
    );
  }
  const results = statements.length ? await env.DB.batch(statements) : [];
  const out: { annotation: unknown; time: number; title: string; text: string; tags: string[] }[] = [];
  for (const result of results) {
    for (const raw of result.results) {
      const job = AnnotationJob.safeParse(raw);
      if (job.success) {
        const j = job.data;
        out.push({ annotation, time: j.completed_at, title: `Job failed: ${j.name}`, text: `${j.error ?? "failed"} (job ${j.id}, type ${j.type}, queue ${j.queue})`, tags: ["job.failed", j.queue, j.type] });
        continue;
      }
      const e = AnnotationQueueEvent.parse(raw);
      out.push({ annotation, time: e.at, title: `Queue ${e.queue}: ${e.type.slice("queue.".length)}`, text: e.data, tags: [e.type, e.queue] });
    }
  }
  return out.sort((a, b) => a.time - b.time);
}
