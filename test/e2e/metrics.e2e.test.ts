import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { baseUrl, call, token, waitFor } from "./client";

describe("metrics on a real wrangler dev", () => {
  it("serves the Prometheus exposition at /metrics to a bearer token, as Prometheus' authorization setting sends it", async () => {
    const queue = `e2e-metrics-${crypto.randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (const parameters of [{ message: "ok" }, { fail: true }]) {
      ids.push((await call("/jobs", { body: { type: "echo", parameters, maxRetries: 0, queue } })).json.id);
    }
    await waitFor(async () => {
      const jobs = await Promise.all(ids.map(async (id) => (await call(`/jobs/${id}`)).json.status));
      return jobs.every((s) => s === "completed" || s === "failed");
    });

    // Finished jobs are counted by their queue's archive flush, within about a second of their end.
    let res!: Response;
    let text = "";
    await waitFor(async () => {
      res = await fetch(`${baseUrl()}/metrics`, { headers: { authorization: `Bearer ${token()}` } });
      text = await res.text();
      return text.includes(`tickerq_job_duration_seconds_count{queue="${queue}",type="echo"} 2`);
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text).toContain(`tickerq_jobs_total{queue="${queue}",type="echo",status="completed"} 1`);
    expect(text).toContain(`tickerq_jobs_total{queue="${queue}",type="echo",status="failed"} 1`);
    expect(text).toContain(`tickerq_job_duration_seconds_count{queue="${queue}",type="echo"} 2`);
    // CI checks this file with `promtool check metrics` (see .ci/run).
    if (process.env.METRICS_EXPOSITION_FILE) writeFileSync(process.env.METRICS_EXPOSITION_FILE, text);

    expect((await fetch(`${baseUrl()}/metrics`)).status).toBe(401);
  });

  it("streams an export through the dev server without a content length", async () => {
    const res = await fetch(`${baseUrl()}/api/tickerq/export/jobs?format=ndjson`, { headers: { authorization: `Bearer ${token()}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBeNull();
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty("id");
  });
});
