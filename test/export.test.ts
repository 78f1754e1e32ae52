import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, api, BASE, uniqueQueue, waitForStatus } from "./helpers";
import { flushQueues } from "./flush-helpers";
import { parseCsv } from "./support/csv";

const get = (path: string) => exports.default.fetch(new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } }));
// Response.text() warns on media types it does not know as text (NDJSON).
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

async function seedFinishedJobs(queue: string, count: number, start: number) {
  await env.DB.prepare(
    `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, retry_count, max_retries, created_at, updated_at, executed_at, completed_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     SELECT printf('job_%s_%06d', ?1, i), ?1, 'echo', printf('Export %d', i), 'completed', 1, '{}', ?2 + i, 1, 0, 3, ?2 + i, ?2 + i, ?2 + i, ?2 + i + 7 FROM n`,
  )
    .bind(queue, start, count)
    .run();
}

describe("GET /export/jobs", () => {
  it("round-trips a name with commas, quotes, line breaks and a leading = through RFC 4180 CSV, neutralising the formula", async () => {
    const queue = uniqueQueue("csv");
    const name = `=HYPERLINK("http://x.example","a, b")\nsecond line, "quoted"`;
    const created = await api("/jobs", { body: { type: "echo", name, queue } });
    await waitForStatus(created.json.id, ["completed"]);
    // The finished job is read from the archive, the waiting one from its queue's scheduler.
    await flushQueues(queue);
    await api("/jobs", { body: { type: "echo", name: "+1 plain", queue, delay: "01:00:00" } });

    const res = await get(`/export/jobs?queue=${queue}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="jobs.csv"');
    const [header, ...rows] = parseCsv(await res.text());
    expect(header).toEqual(["id", "name", "type", "queue", "status", "priority", "createdAt", "scheduledAt", "executedAt", "completedAt", "duration", "durationMs", "retryCount", "maxRetries", "attempts", "error"]);
    expect(rows).toHaveLength(2);
    const record = Object.fromEntries(header.map((h, i) => [h, rows[0][i]]));
    expect(record.name).toBe(`'${name}`);
    expect(record.name.slice(1)).toBe(name);
    expect(record).toMatchObject({ id: created.json.id, status: "completed", queue, type: "echo", error: "" });
    expect(Number(record.durationMs)).toBeGreaterThanOrEqual(0);
    expect(rows[1][1]).toBe("'+1 plain");

    for (const id of [(await api(`/jobs?queue=${queue}&status=pending`)).json.jobs[0].id]) await api(`/jobs/${id}/cancel`, { method: "POST" });
  });

  it("writes JSON and NDJSON with the same fields and honours the list filters", async () => {
    const queue = uniqueQueue("json");
    const start = Date.now() - 60_000;
    await seedFinishedJobs(queue, 5, start);
    await env.DB.prepare(`UPDATE jobs_legacy SET status = 'failed', error = 'boom' WHERE id = ?`).bind(`job_${queue}_000002`).run();

    const json = await get(`/export/jobs?queue=${queue}&format=json`);
    expect(json.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const all = await json.json<any[]>();
    expect(all.map((j) => j.id)).toEqual([1, 2, 3, 4, 5].map((i) => `job_${queue}_00000${i}`));
    expect(all[1]).toMatchObject({ status: "failed", error: "boom", durationMs: 7, duration: "00:00:00.007" });

    const ndjson = await get(`/export/jobs?queue=${queue}&format=ndjson&status=failed`);
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    const lines = (await text(ndjson)).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([all[1]]);

    const limited = await text(await get(`/export/jobs?queue=${queue}&format=ndjson&limit=2`));
    expect(limited.trimEnd().split("\n")).toHaveLength(2);
    const to = new Date(start + 3).toISOString();
    const range = await (await get(`/export/jobs?queue=${queue}&format=json&to=${encodeURIComponent(to)}`)).json<any[]>();
    expect(range.map((j) => j.id)).toEqual([`job_${queue}_000001`, `job_${queue}_000002`, `job_${queue}_000003`]);
    const empty = await (await get(`/export/jobs?queue=${uniqueQueue("none")}&format=json`)).text();
    expect(JSON.parse(empty)).toEqual([]);
  });

  it("refuses bad input in the one error shape", async () => {
    for (const query of ["format=xml", "status=done", "limit=0", "limit=500001", "bogus=1", "from=yesterday"]) {
      const r = await api(`/export/jobs?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json).toMatchObject({ error: "validation_error", message: expect.any(String), details: expect.any(Array) });
    }
    expect((await api("/export/jobs", { token: null })).status).toBe(401);
  });

  it("streams 50,000 jobs a page at a time instead of buffering them", { timeout: 120_000 }, async () => {
    const queue = uniqueQueue("big");
    const start = Date.now() - 3600_000;
    await seedFinishedJobs(queue, 50_000, start);
    try {
      const res = await get(`/export/jobs?queue=${queue}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBeNull();
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let records = 0;
      let chunks = 0;
      let largest = 0;
      let tail = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (chunks++ === 0) {
          // Archived after the response started: only an export that reads D1 as it goes can include it.
          await env.DB.prepare(
            `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
             VALUES (?1, ?2, 'echo', 'late', 'completed', 1, '{}', ?3, 1, 3, ?3, ?3, ?3, ?3)`,
          )
            .bind(`job_${queue}_late`, queue, start + 10_000_000)
            .run();
        }
        largest = Math.max(largest, value.byteLength);
        const text = tail + decoder.decode(value, { stream: true });
        const parts = text.split("\r\n");
        tail = parts.pop()!;
        records += parts.length;
        if (parts.length) expect(parts.at(-1)).toMatch(/^job_|^id,/);
      }
      expect(tail).toBe("");
      expect(records).toBe(1 + 50_000 + 1);
      expect(chunks).toBeGreaterThanOrEqual(50);
      expect(largest).toBeLessThan(512 * 1024);
    } finally {
      await env.DB.prepare(`DELETE FROM jobs WHERE queue = ?`).bind(queue).run();
    }
  });
});

describe("GET /export/history", () => {
  it("exports the rollups per bucket, queue and type as CSV or JSON", async () => {
    const queue = uniqueQueue("history");
    const ids = [];
    for (const parameters of [{}, {}, { fail: true }]) ids.push((await api("/jobs", { body: { type: "echo", parameters, maxRetries: 0, queue } })).json.id);
    for (const id of ids) await waitForStatus(id, ["completed", "failed"]);
    await flushQueues(queue);
    const startTime = new Date(Date.now() - 2 * 3600_000).toISOString();

    const csv = await get(`/export/history?bucket=hourly&format=csv&queue=${queue}&startTime=${startTime}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="history-hourly.csv"');
    const [header, ...rows] = parseCsv(await csv.text());
    expect(header).toEqual(["bucketStart", "bucketEnd", "queue", "type", "totalJobs", "completed", "failed", "cancelled", "retriedAttempts", "successRate", "averageExecutionTimeMs"]);
    expect(rows).toHaveLength(1);
    const hour = Math.floor(Date.now() / 3600_000) * 3600_000;
    expect(rows[0].slice(0, 9)).toEqual([new Date(hour).toISOString(), new Date(hour + 3599_999).toISOString(), queue, "echo", "3", "2", "1", "0", "0"]);
    expect(Number(rows[0][9])).toBeCloseTo(66.67, 2);

    const daily = await (await get(`/export/history?bucket=daily&format=json&queue=${queue}&startTime=${startTime.slice(0, 10)}`)).json<any[]>();
    expect(daily).toEqual([expect.objectContaining({ bucketStart: `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`, queue, type: "echo", totalJobs: 3, completed: 2, failed: 1 })]);
  });

  it("refuses bad periods and buckets", async () => {
    for (const query of ["bucket=weekly", "format=pdf", "startTime=2024-02-01&endTime=2024-01-01", "startTime=2020-01-01&endTime=2024-01-01", "bogus=1"]) {
      const r = await api(`/export/history?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json.error).toBe("validation_error");
    }
  });
});
