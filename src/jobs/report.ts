import { z } from "zod";
import { csvRecord } from "../export/csv";
import { iso } from "../lib/time";
import { performanceReport, type PerformanceReport } from "../metrics/performance";
import { HOUR_MS } from "../metrics/rollups";
import { MAX_HOURLY_DAYS, MAX_PERIOD_DAYS } from "../model/metrics";
import { QueueNameSchema } from "../model/job";
import { guardedFetch } from "../net/guarded-fetch";
import { checkUrlParameter, HttpParameters, httpSecretPaths } from "./http";
import { defineJobType } from "./job-type";

const TIME_RANGE = /^(\d{1,4})(h|d)$/;
/** Milliseconds of a "24h" / "7d" range; NaN for anything else (the object refinements run even when the field failed). */
const rangeMs = (timeRange: string) => {
  const m = TIME_RANGE.exec(timeRange);
  return m ? Number(m[1]) * (m[2] === "h" ? HOUR_MS : 24 * HOUR_MS) : NaN;
};

export const ReportParameters = z
  .strictObject({
    name: z.string().trim().min(1).max(200).default("Job performance report"),
    timeRange: z.string().regex(TIME_RANGE, 'must be hours or days, like "24h" or "7d"').default("24h"),
    granularity: z.enum(["day", "hour"]).optional().describe("default: hour up to 48h, else day"),
    format: z.enum(["json", "csv"]).default("json"),
    queue: QueueNameSchema.optional(),
    jobType: z.string().min(1).max(100).optional(),
    url: z.string().url().optional().describe("where the report is POSTed; without it the report is only kept as the job's result"),
    headers: HttpParameters.shape.headers,
  })
  .refine((p) => rangeMs(p.timeRange) >= HOUR_MS && rangeMs(p.timeRange) <= MAX_PERIOD_DAYS * 24 * HOUR_MS, {
    message: `must be between 1h and ${MAX_PERIOD_DAYS}d`,
    path: ["timeRange"],
  })
  .refine((p) => granularityOf(p) === "day" || rangeMs(p.timeRange) <= MAX_HOURLY_DAYS * 24 * HOUR_MS, {
    message: `hourly reports cover at most ${MAX_HOURLY_DAYS} days`,
    path: ["granularity"],
  });

const granularityOf = (p: { timeRange: string; granularity?: "day" | "hour" }) => p.granularity ?? (rangeMs(p.timeRange) <= 48 * HOUR_MS ? "hour" : "day");

/**
 * The built-in `report` job type (seed 002 "Scheduled Reports"): run from a recurring job such as
 * "0 8 * * *", it builds the performance summary for the `timeRange` that ended at the hour the job
 * was created (so a retry reports the same period), POSTs it as JSON or CSV to `url`, and keeps it
 * as the job's result.
 */
export const reportJob = defineJobType({
  name: "report",
  builtIn: true,
  description: "Builds the performance summary of a recent period (JSON or CSV), delivers it to a URL and keeps it as the result.",
  parameters: ReportParameters,
  timeoutMs: 60_000,
  check(params, settings) {
    return params.url ? checkUrlParameter(params.url, settings) : [];
  },
  secretPaths: httpSecretPaths,
  async run(params, ctx) {
    const end = Math.floor(ctx.createdAt / HOUR_MS) * HOUR_MS;
    const report = await performanceReport(ctx.env, {
      from: end - rangeMs(params.timeRange),
      to: end - 1,
      granularity: granularityOf(params),
      queue: params.queue,
      type: params.jobType,
    });
    const document = { report: params.name, generatedAt: iso(Date.now()), timeRange: params.timeRange, ...report };
    const content = params.format === "csv" ? reportCsv(report) : JSON.stringify(document);
    ctx.log("Info", `Built "${params.name}" for ${report.period.from} to ${report.period.to}`, `${report.summary.totalJobs} jobs`, "build");
    let delivery: { url: string; status: number } | null = null;
    if (params.url) {
      const headers = new Headers(params.headers);
      headers.set("content-type", params.format === "csv" ? "text/csv; charset=utf-8" : "application/json");
      headers.set("x-tickerq-report", encodeURIComponent(params.name));
      const { url, ...response } = await guardedFetch(params.url, {
        method: "POST",
        headers,
        body: content,
        signal: ctx.signal,
        allowPrivate: ctx.settings.allowPrivateTargets,
        followRedirects: false,
        bodyLimit: 0,
      });
      delivery = { url, status: response.status };
      if (!response.ok) throw new Error(`Report delivery to ${url} answered HTTP ${response.status}`);
      ctx.log("Info", `Delivered to ${url}`, `HTTP ${response.status}`, "deliver");
    }
    return { name: params.name, format: params.format, period: report.period, delivery, content: params.format === "csv" ? content : document };
  },
});

const CSV_COLUMNS = ["date", "jobsExecuted", "successfulJobs", "failedJobs", "cancelledJobs", "retriedAttempts", "successRate", "averageExecutionTime", "averageExecutionTimeMs"] as const;

/** The trends as CSV rows, then a `total` row for the whole period. */
export function reportCsv(report: PerformanceReport): string {
  const total = { date: "total", jobsExecuted: report.summary.totalJobs, ...report.summary };
  return [CSV_COLUMNS, ...[...report.trends, total].map((t) => CSV_COLUMNS.map((c) => t[c]))].map((r) => csvRecord([...r])).join("");
}
