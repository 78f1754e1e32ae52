import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { windowShare } from "../src/db/queues";
import { csvField, csvRecord } from "../src/export/csv";
import { normalizeFailureReason } from "../src/metrics/failure-reason";
import type { QueueGauges } from "../src/metrics/gauges";
import { bucketIndex, DURATION_BUCKETS_SECONDS } from "../src/metrics/histogram";
import { families, renderExposition } from "../src/metrics/prometheus";
import { failureRateCheck, HEALTH, overdueCheck, stuckJobsCheck } from "../src/metrics/system";
import { parseCsv } from "./support/csv";

const gauge = (over: Partial<QueueGauges>): QueueGauges => ({
  queue: "q",
  pending: 0,
  due: 0,
  oldestDueRunAt: null,
  running: 0,
  leaseExpired: 0,
  oldestLeaseExpiredAt: null,
  paused: false,
  ...over,
});

describe("failure reasons", () => {
  it.each([
    ["HTTP 503 from https://api.example.com/v1/orders/123?x=1", "HTTP 503 from https://api.example.com"],
    ["HTTP 503 from https://api.example.com/v1/orders/456", "HTTP 503 from https://api.example.com"],
    ["echo failed on request (attempt 3)", "echo failed on request (attempt <n>)"],
    ["Timed out after 30 s.", "Timed out after <n> s."],
    ["connect ECONNREFUSED 10.0.0.7:5432", "connect ECONNREFUSED <address>"],
    ['Order "A-17" of job_0a1b2c3d4e5f failed at 2024-01-15T10:30:00Z', "Order <value> of <id> failed at <time>"],
    ["status 404 after 12345 bytes", "status 404 after <n> bytes"],
    ["id 3f2b9a10-1c2d-4e5f-8a9b-0c1d2e3f4a5b not found", "id <id> not found"],
    ["first line\nstack trace line 2", "first line"],
    ["", "Unknown error"],
    [null, "Unknown error"],
  ])("%j → %j", (raw, reason) => {
    expect(normalizeFailureReason(raw)).toBe(reason);
  });

  it("keeps reasons short", () => {
    const reason = normalizeFailureReason("x".repeat(1000));
    expect(reason.length).toBe(120);
    expect(reason.endsWith("…")).toBe(true);
  });
});

describe("duration histogram", () => {
  it("puts a duration in the first bucket whose bound holds it", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(5)).toBe(0);
    expect(bucketIndex(6)).toBe(1);
    expect(bucketIndex(1000)).toBe(DURATION_BUCKETS_SECONDS.indexOf(1));
    expect(bucketIndex(900_000)).toBe(DURATION_BUCKETS_SECONDS.length - 1);
    expect(bucketIndex(900_001)).toBe(-1);
  });
});

describe("Prometheus exposition", () => {
  it("escapes label values and renders HELP, TYPE and cumulative histogram buckets that a parser reads back", () => {
    const queue = 'we"ird\\queue\nname';
    const text = renderExposition(
      families(
        [{ queue, type: "echo", counts: { completed: 3, failed: 1, cancelled: 0, retried: 2, timed: 4, durationMs: 2500 }, buckets: DURATION_BUCKETS_SECONDS.map((_, i) => (i === 0 ? 1 : i === 7 ? 3 : 0)) }],
        [gauge({ queue, pending: 7, due: 2, oldestDueRunAt: 1_000, running: 1, paused: true })],
        { available: true, failingEndpoints: [], deliveries: [{ endpoint: "wh_1", outcome: "failed", count: 5 }] },
        11_000,
      ),
    );
    const parsed = parsePrometheusTextFormat(text);
    const names = parsed.map((f) => f.name);
    expect(names).toEqual([
      "tickerq_jobs_total",
      "tickerq_job_retries_total",
      "tickerq_job_duration_seconds",
      "tickerq_queue_length",
      "tickerq_queue_due_jobs",
      "tickerq_jobs_running",
      "tickerq_oldest_pending_job_age_seconds",
      "tickerq_jobs_lease_expired",
      "tickerq_queue_paused",
      "tickerq_webhook_deliveries_total",
    ]);
    for (const f of parsed) expect(f.help, f.name).not.toBe("");
    const jobs = parsed.find((f) => f.name === "tickerq_jobs_total")!;
    expect(jobs.type).toBe("COUNTER");
    expect(jobs.metrics).toContainEqual({ labels: { queue, type: "echo", status: "completed" }, value: "3" });
    expect(parsed.find((f) => f.name === "tickerq_oldest_pending_job_age_seconds")!.metrics).toEqual([{ labels: { queue }, value: "10" }]);
    expect(parsed.find((f) => f.name === "tickerq_queue_paused")!.metrics[0].value).toBe("1");
    expect(parsed.find((f) => f.name === "tickerq_webhook_deliveries_total")!.metrics).toEqual([{ labels: { endpoint: "wh_1", outcome: "failed" }, value: "5" }]);

    const buckets = text.split("\n").filter((l) => l.startsWith("tickerq_job_duration_seconds_bucket"));
    const values = buckets.map((l) => Number(l.split(" ").at(-1)));
    expect(values).toEqual([1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(buckets.at(-1)).toContain('le="+Inf"');
    expect(text).toContain(`tickerq_job_duration_seconds_sum{queue="we\\"ird\\\\queue\\nname",type="echo"} 2.5`);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("leaves the webhook family out until webhook data is wired in", () => {
    const text = renderExposition(families([], [], { available: false, failingEndpoints: [], deliveries: [] }, 0));
    expect(text).not.toContain("tickerq_webhook");
    expect(text).toContain("# TYPE tickerq_jobs_total counter");
  });
});

describe("health checks", () => {
  it("judges the failure rate only on enough jobs", () => {
    expect(failureRateCheck({ completed: 5, failed: 5 }).status).toBe("healthy");
    expect(failureRateCheck({ completed: 18, failed: 2 })).toMatchObject({ status: "degraded", failureRate: 10 });
    expect(failureRateCheck({ completed: 10, failed: 10 })).toMatchObject({ status: "unhealthy", reason: expect.stringContaining("50% of the 20 jobs") });
    expect(failureRateCheck({ completed: 0, failed: 0 })).toMatchObject({ status: "healthy", failureRate: null });
  });

  it("flags running jobs past their lease, and unhealthy once recovery is clearly not running", () => {
    const now = 1_000_000_000;
    expect(stuckJobsCheck([gauge({})], now).status).toBe("healthy");
    expect(stuckJobsCheck([gauge({ leaseExpired: 2, oldestLeaseExpiredAt: now - 60_000 })], now)).toMatchObject({ status: "degraded", count: 2, reason: expect.stringContaining("2 running jobs past their lease") });
    expect(stuckJobsCheck([gauge({ leaseExpired: 1, oldestLeaseExpiredAt: now - HEALTH.stuckUnhealthyMs })], now).status).toBe("unhealthy");
  });

  it("flags the oldest overdue job of a queue that is not paused", () => {
    const now = 1_000_000_000;
    const late = gauge({ queue: "late", due: 1, oldestDueRunAt: now - HEALTH.overdueDegradedMs - 1 });
    const paused = gauge({ queue: "paused", due: 9, oldestDueRunAt: now - 3 * HEALTH.overdueUnhealthyMs, paused: true });
    expect(overdueCheck([late, paused], now)).toMatchObject({ status: "degraded", queue: "late", overdueBy: "00:05:00.001", pausedQueues: ["paused"] });
    expect(overdueCheck([paused], now)).toMatchObject({ status: "healthy", queue: null });
    expect(overdueCheck([gauge({ oldestDueRunAt: now - HEALTH.overdueUnhealthyMs })], now).status).toBe("unhealthy");
    expect(overdueCheck([gauge({ oldestDueRunAt: now - 1000 })], now).status).toBe("healthy");
  });
});

describe("windows over hourly rollups", () => {
  it("counts the current hour whole for a one-hour window and the part of the previous hour still inside it", () => {
    const HOUR = 3_600_000;
    const hour = 10 * HOUR;
    const now = hour + 15 * 60_000;
    expect(windowShare(hour, now, HOUR)).toBe(1);
    expect(windowShare(hour - HOUR, now, HOUR)).toBe(0.75);
    expect(windowShare(hour - 2 * HOUR, now, HOUR)).toBe(0);
    expect(windowShare(hour, now, 5 * 60_000)).toBeCloseTo(1 / 3, 10);
    expect(windowShare(hour - HOUR, now, 30 * 60_000)).toBeCloseTo(0.25, 10);
    expect(windowShare(hour, hour, HOUR)).toBe(0);
  });
});

describe("CSV fields", () => {
  it("quotes per RFC 4180 and neutralises formulas only in text", () => {
    expect(csvField('say "hi", bye')).toBe('"say ""hi"", bye"');
    expect(csvField("=1+1")).toBe("'=1+1");
    expect(csvField("-2")).toBe("'-2");
    expect(csvField(-2)).toBe("-2");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("\tx")).toBe("'\tx");
    expect(csvField("\r=x")).toBe(`"'\r=x"`);
    expect(csvField(null)).toBe("");
    expect(parseCsv(csvRecord(["a,b", 'c"d', "e\r\nf", 1, null]))).toEqual([["a,b", 'c"d', "e\r\nf", "1", ""]]);
  });
});
