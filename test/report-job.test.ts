import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushLive } from "../src/scheduler/client";
import { api, targetCalls, targetUrl, uniqueQueue, waitForStatus } from "./helpers";
import { parseCsv } from "./support/csv";

const HOUR = 3600_000;

/** Runs jobs in a queue, then moves their rollups an hour back, as if they had run before the report's period ended. */
async function jobsThatRanLastHour(queue: string) {
  const ids = [];
  for (const parameters of [{}, {}, { fail: true }]) ids.push((await api("/jobs", { body: { type: "echo", parameters, maxRetries: 0, queue } })).json.id);
  for (const id of ids) await waitForStatus(id, ["completed", "failed"]);
  // Their rollups are written when the queue's scheduler flushes them to the archive.
  await flushLive(env, queue);
  await env.DB.batch(
    ["job_rollups", "job_failure_reasons"].map((table) => env.DB.prepare(`UPDATE ${table} SET hour = hour - ?1 WHERE queue = ?2`).bind(HOUR, queue)),
  );
}

describe("report job type", () => {
  it("builds the JSON summary of the period ending at the hour it was created, delivers it and keeps it as the result", async () => {
    const queue = uniqueQueue("report");
    await jobsThatRanLastHour(queue);
    const tag = `report-${crypto.randomUUID()}`;
    const created = await api("/jobs", {
      body: { type: "report", name: "Daily summary", parameters: { name: "Daily summary", timeRange: "24h", queue, url: `${targetUrl()}/record/${tag}` }, queue: uniqueQueue() },
    });
    expect(created.status).toBe(201);
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");

    const end = Math.floor(Date.parse(job.createdAt) / HOUR) * HOUR;
    expect(job.result).toMatchObject({ name: "Daily summary", format: "json", period: { from: new Date(end - 24 * HOUR).toISOString(), to: new Date(end - 1).toISOString() } });
    expect(job.result.delivery).toEqual({ url: `${targetUrl()}/record/${tag}`, status: 200 });
    const report = job.result.content;
    expect(report).toMatchObject({ report: "Daily summary", timeRange: "24h", granularity: "hour", filters: { queue, type: null } });
    expect(report.summary).toMatchObject({ totalJobs: 3, successfulJobs: 2, failedJobs: 1 });
    expect(report.trends).toHaveLength(24);
    expect(report.trends.at(-1).jobsExecuted).toBe(3);

    const { calls } = await targetCalls(tag);
    expect(calls).toHaveLength(1);
    expect(calls[0].method).toBe("POST");
    expect(calls[0].headers["content-type"]).toBe("application/json");
    expect(calls[0].headers["x-tickerq-report"]).toBe("Daily%20summary");
    expect(JSON.parse(calls[0].body)).toEqual(report);
  });

  it("renders CSV with a row per day and a total row, without delivering when no URL is given", async () => {
    const queue = uniqueQueue("report-csv");
    await jobsThatRanLastHour(queue);
    const created = await api("/jobs", { body: { type: "report", parameters: { format: "csv", timeRange: "7d", queue }, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"]);
    expect(job.status).toBe("completed");
    expect(job.result.delivery).toBeNull();
    const [header, ...rows] = parseCsv(job.result.content);
    expect(header).toEqual(["date", "jobsExecuted", "successfulJobs", "failedJobs", "cancelledJobs", "retriedAttempts", "successRate", "averageExecutionTime", "averageExecutionTimeMs"]);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.at(-1)!.slice(0, 4)).toEqual(["total", "3", "2", "1"]);
    expect(rows.slice(0, -1).reduce((a, r) => a + Number(r[1]), 0)).toBe(3);
  });

  it("fails (and retries) when the receiver refuses the report", async () => {
    const tag = `report-500-${crypto.randomUUID()}`;
    const created = await api("/jobs", { body: { type: "report", parameters: { url: `${targetUrl()}/record/${tag}?status=500` }, maxRetries: 1, queue: uniqueQueue() } });
    const job = await waitForStatus(created.json.id, ["completed", "failed"], 30_000);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/answered HTTP 500/);
    expect((await targetCalls(tag)).calls).toHaveLength(2);
  });

  it("refuses bad parameters when the job is created", async () => {
    for (const [parameters, path] of [
      [{ timeRange: "2w" }, "parameters.timeRange"],
      [{ timeRange: "500d" }, "parameters.timeRange"],
      [{ timeRange: "90d", granularity: "hour" }, "parameters.granularity"],
      [{ format: "pdf" }, "parameters.format"],
      [{ url: "ftp://example.com/report" }, "parameters.url"],
      [{ extra: true }, "parameters"],
    ] as const) {
      const r = await api("/jobs", { body: { type: "report", parameters, queue: uniqueQueue() } });
      expect(r.status, JSON.stringify(parameters)).toBe(400);
      expect(r.json.details.map((d: any) => d.path)).toContain(path);
    }
  });
});
