import { runQueries } from "./batch";
import { queueGauges, type QueueGauges } from "./gauges";
import { DURATION_BUCKETS_SECONDS } from "./histogram";
import { totalsWithHistogramQuery, type HistogramRow } from "./rollups";
import { webhookHealth, type WebhookHealth } from "./webhook-health";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
export type Family = { name: string; help: string; type: "counter" | "gauge" | "histogram"; samples: { name?: string; labels: Labels; value: number }[] };

/** The Prometheus exposition: counters and the histogram from the all-time totals, gauges from the queues' schedulers. */
export async function prometheusMetrics(env: Env, now: number): Promise<string> {
  return renderExposition(await jobFamilies(env, now));
}

/** The job metric families: the totals in one D1 read, the gauges from the queues' schedulers (plus the webhook health). */
export async function jobFamilies(env: Env, now: number): Promise<Family[]> {
  const [[totals], queues, webhooks] = await Promise.all([runQueries(env.DB, totalsWithHistogramQuery(env.DB)), queueGauges(env), webhookHealth(env)]);
  return families(totals, queues, webhooks, now);
}

export function families(totals: HistogramRow[], queues: QueueGauges[], webhooks: WebhookHealth, now: number): Family[] {
  const perQueue = (name: string, help: string, value: (q: QueueGauges) => number): Family => ({
    name,
    help,
    type: "gauge",
    samples: queues.map((q) => ({ labels: { queue: q.queue }, value: value(q) })),
  });
  const out: Family[] = [
    {
      name: "tickerq_jobs_total",
      help: "Job runs that reached a terminal state, by queue, type and status (completed, failed, cancelled).",
      type: "counter",
      samples: totals.flatMap((t) =>
        (["completed", "failed", "cancelled"] as const).map((status) => ({ labels: { queue: t.queue, type: t.type, status }, value: t.counts[status] })),
      ),
    },
    {
      name: "tickerq_job_retries_total",
      help: "Failed attempts that were retried (not counted as failed jobs), by queue and type.",
      type: "counter",
      samples: totals.map((t) => ({ labels: { queue: t.queue, type: t.type }, value: t.counts.retried })),
    },
    {
      name: "tickerq_job_duration_seconds",
      help: "Duration of the final attempt of completed and failed jobs, by queue and type.",
      type: "histogram",
      samples: totals.flatMap((t) => {
        const labels = { queue: t.queue, type: t.type };
        let cumulative = 0;
        return [
          ...DURATION_BUCKETS_SECONDS.map((le, i) => ({ name: "tickerq_job_duration_seconds_bucket", labels: { ...labels, le: String(le) }, value: (cumulative += t.buckets[i]) })),
          { name: "tickerq_job_duration_seconds_bucket", labels: { ...labels, le: "+Inf" }, value: t.counts.timed },
          { name: "tickerq_job_duration_seconds_sum", labels, value: t.counts.durationMs / 1000 },
          { name: "tickerq_job_duration_seconds_count", labels, value: t.counts.timed },
        ];
      }),
    },
    perQueue("tickerq_queue_length", "Jobs waiting in the queue, including those scheduled for later.", (q) => q.pending),
    perQueue("tickerq_queue_due_jobs", "Waiting jobs whose run time has come.", (q) => q.due),
    perQueue("tickerq_jobs_running", "Jobs running now.", (q) => q.running),
    perQueue("tickerq_oldest_pending_job_age_seconds", "How long the oldest due job has waited past its run time (0 when none is due).", (q) =>
      q.oldestDueRunAt == null ? 0 : Math.max(0, (now - q.oldestDueRunAt) / 1000),
    ),
    perQueue("tickerq_jobs_lease_expired", "Running jobs past their lease, waiting to be taken back by the reconciler.", (q) => q.leaseExpired),
    perQueue("tickerq_queue_paused", "1 when the queue is paused.", (q) => (q.paused ? 1 : 0)),
  ];
  if (webhooks.available) {
    out.push({
      name: "tickerq_webhook_deliveries_total",
      help: "Webhook deliveries by endpoint and outcome.",
      type: "counter",
      samples: webhooks.deliveries.map((d) => ({ labels: { endpoint: d.endpoint, outcome: d.outcome }, value: d.count })),
    });
  }
  return out;
}

/** Text exposition format 0.0.4: HELP and TYPE for every family, escaped label values. */
export function renderExposition(fams: Family[]): string {
  const lines: string[] = [];
  for (const f of fams) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${s.name ?? f.name}${renderLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join("\n")}\n`;
}

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (!entries.length) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  return String(n);
}
