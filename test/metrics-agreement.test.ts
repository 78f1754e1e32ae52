import { env, exports } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { readSettings } from "../src/config";
import { runRetention } from "../src/maintenance/retention";
import { normalizeFailureReason } from "../src/metrics/failure-reason";
import { flushQueues } from "./flush-helpers";
import { api, targetUrl, uniqueQueue, waitFor } from "./helpers";

const DAY_MS = 86_400_000;
const round2 = (n: number) => Math.round(n * 100) / 100;

type Expected = { completed: number; failed: number; cancelled: number; retried: number; durations: number[]; reasons: Map<string, number> };
const expectedFor = () => ({ completed: 0, failed: 0, cancelled: 0, retried: 0, durations: [], reasons: new Map() }) as Expected;

async function prometheus(): Promise<{ families: any[]; lines: Sample[] }> {
  const res = await exports.default.fetch(new Request("http://edge-ticker.test/metrics", { headers: { authorization: "Bearer test-admin-token-0123456789abcdef-0123" } }));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { families: parsePrometheusTextFormat(text), lines: sampleLines(text) };
}

type Sample = { name: string; labels: Record<string, string>; value: number };
// parse-prometheus-text-format folds every series of a histogram into one, so histogram series are
// read from the sample lines (after the parser accepted the whole text).
function sampleLines(text: string): Sample[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const m = /^(\w+)\{(.*)\} (\S+)$/.exec(l)!;
      const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

describe("metrics agree exactly with the jobs that ran", () => {
  it("counts, success rate, averages, failure reasons and Prometheus series, before and after a retention purge", { timeout: 90_000 }, async () => {
    const queue = uniqueQueue("agree");
    const started = Date.now();
    const requests = [
      ...Array.from({ length: 3 }, (_, i) => ({ type: "echo", name: `ok ${i}`, parameters: { message: i, sleepMs: 5 * i } })),
      ...Array.from({ length: 2 }, () => ({ type: "echo", name: "always fails", parameters: { fail: true }, maxRetries: 0 })),
      { type: "echo", name: "fails once", parameters: { failTimes: 1 }, maxRetries: 2 },
      ...Array.from({ length: 2 }, (_, i) => ({ type: "http", name: `503 ${i}`, parameters: { url: `${targetUrl()}/record/agree-${i}?status=503` }, maxRetries: 0 })),
      { type: "word-count", name: "words", parameters: { text: "one two three" } },
      { type: "echo", name: "cancelled before it ran", delay: "01:00:00" },
    ].map((r) => ({ ...r, queue }));
    const created = await api("/jobs/batch", { body: { jobs: requests } });
    expect(created.status).toBe(201);
    const ids: string[] = created.json.jobs.map((j: any) => j.id);
    expect((await api(`/jobs/${ids[ids.length - 1]}/cancel`, { method: "POST" })).status).toBe(200);

    const jobs = await waitFor(async () => {
      const all = await Promise.all(ids.map(async (id) => (await api(`/jobs/${id}`)).json));
      return all.every((j) => ["completed", "failed", "cancelled"].includes(j.status)) ? all : null;
    }, 60_000);
    // Metrics are written with the archive: flushed within a second, here at once.
    await flushQueues(queue);

    const byType = new Map<string, Expected>();
    const overall = expectedFor();
    for (const job of jobs) {
      for (const e of [overall, byType.get(job.type) ?? byType.set(job.type, expectedFor()).get(job.type)!]) {
        e[job.status as "completed" | "failed" | "cancelled"]++;
        e.retried += job.executionHistory.filter((a: any) => a.status === "failed" && a.retryAt).length;
        if (job.status !== "cancelled") e.durations.push(job.durationMs);
        if (job.status === "failed") e.reasons.set(normalizeFailureReason(job.error), (e.reasons.get(normalizeFailureReason(job.error)) ?? 0) + 1);
      }
    }
    expect(overall).toMatchObject({ completed: 5, failed: 4, cancelled: 1, retried: 1 });
    expect([...overall.reasons.keys()].sort()).toEqual([`HTTP 503 from ${targetUrl()}`, "echo failed on request (attempt <n>)"]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    const snapshot = async () => {
      const performance = await api(`/metrics/performance?queue=${queue}&granularity=hour&from=${new Date(started - 3600_000).toISOString()}`);
      expect(performance.status).toBe(200);
      const jobTypes = await api(`/metrics/job-types?queue=${queue}`);
      expect(jobTypes.status).toBe(200);
      const { families, lines } = await prometheus();
      const samples = (name: string) => families.find((f) => f.name === name)?.metrics.filter((m: any) => m.labels?.queue === queue) ?? [];
      const histogram = lines.filter((l) => l.name.startsWith("tickerq_job_duration_seconds_") && l.labels.queue === queue);
      return { performance: performance.json, jobTypes: jobTypes.json, jobsTotal: samples("tickerq_jobs_total"), retries: samples("tickerq_job_retries_total"), histogram };
    };
    const before = await snapshot();

    const summary = before.performance.summary;
    expect(summary).toMatchObject({
      totalJobs: 10,
      successfulJobs: 5,
      failedJobs: 4,
      cancelledJobs: 1,
      retriedAttempts: 1,
      successRate: round2((100 * 5) / 9),
      averageExecutionTimeMs: round2(mean(overall.durations)),
    });
    expect(before.performance.trends.reduce((a: number, t: any) => a + t.jobsExecuted, 0)).toBe(10);
    expect(summary.throughput.peakJobsPerHour).toBeGreaterThan(0);

    expect(before.jobTypes.jobTypes.map((t: any) => t.type).sort()).toEqual([...byType.keys()].sort());
    for (const t of before.jobTypes.jobTypes) {
      const e = byType.get(t.type)!;
      const total = e.completed + e.failed + e.cancelled;
      expect(t).toMatchObject({
        totalExecutions: total,
        successfulExecutions: e.completed,
        failedExecutions: e.failed,
        cancelledExecutions: e.cancelled,
        retriedAttempts: e.retried,
        successRate: e.completed + e.failed ? round2((100 * e.completed) / (e.completed + e.failed)) : null,
        averageExecutionTimeMs: e.durations.length ? round2(mean(e.durations)) : null,
      });
      expect(t.failureReasons).toEqual([...e.reasons].map(([reason, count]) => ({ reason, count, percentage: round2((100 * count) / total) })).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)));
    }

    for (const [type, e] of byType) {
      for (const status of ["completed", "failed", "cancelled"] as const) {
        const sample = before.jobsTotal.find((m: any) => m.labels.type === type && m.labels.status === status);
        expect(Number(sample.value), `${type} ${status}`).toBe(e[status]);
      }
      expect(Number(before.retries.find((m: any) => m.labels.type === type).value)).toBe(e.retried);
      const h = before.histogram.filter((l) => l.labels.type === type);
      expect(h.find((l) => l.name.endsWith("_count"))!.value).toBe(e.durations.length);
      expect(h.find((l) => l.name.endsWith("_sum"))!.value).toBeCloseTo(e.durations.reduce((a, b) => a + b, 0) / 1000, 6);
      const buckets = h.filter((l) => l.name.endsWith("_bucket"));
      expect(buckets.at(-1)!.labels.le).toBe("+Inf");
      for (const { labels, value } of buckets) {
        expect(value, `le=${labels.le}`).toBe(e.durations.filter((d) => labels.le === "+Inf" || d / 1000 <= Number(labels.le)).length);
      }
    }

    // The retention run of 40 days from now: this test's jobs are past the retention period.
    const purged = await runRetention(env, Date.now() + 40 * DAY_MS, readSettings(env));
    expect(purged.jobsDeleted).toBeGreaterThanOrEqual(10);
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(0);
    const leftovers = await env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM job_attempts WHERE job_id IN (SELECT value FROM json_each(?1))) + (SELECT COUNT(*) FROM job_logs WHERE job_id IN (SELECT value FROM json_each(?1))) + (SELECT COUNT(*) FROM job_log_pages WHERE job_id IN (SELECT value FROM json_each(?1))) AS n`,
    )
      .bind(JSON.stringify(ids))
      .first<{ n: number }>();
    expect(leftovers!.n).toBe(0);

    const after = await snapshot();
    expect(after).toEqual(before);
  });
});
