import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import "../src/index";
import { archiveTableFor, ensureArchiveTable } from "../src/db/archive-days";
import { archiveFlushStatements, type ArchivedJob, type ArchiveFlushInput } from "../src/db/archive";
import { readArchivedJobLogs } from "../src/db/log-pages";
import type { JobRow } from "../src/db/schema";
import { deliverFlushedEvents, eventOutbox } from "../src/events/publisher";
import { jobEventData, makeEvent } from "../src/model/events";
import { finishedJobRow } from "./archive-helpers";
import { targetCalls, targetUrl, uniqueQueue, waitFor } from "./helpers";
import { webhookFactory } from "./webhook-helpers";

const createWebhook = webhookFactory();

const HOUR = 3600_000;

function finishedJob(queue: string, i: number, over: Partial<JobRow> = {}): JobRow {
  return finishedJobRow(queue, i, Math.floor(Date.now() / HOUR) * HOUR + 1000 + i, over);
}

const eventFor = (job: JobRow) =>
  makeEvent(
    job.status === "completed" ? "job.completed" : job.status === "failed" ? "job.failed" : "job.cancelled",
    jobEventData(job, { status: job.status, previousStatus: "running", completedAt: job.completedAt, error: job.error }),
  );

function flushOf(queue: string, seq: number, jobs: ArchivedJob[], at = Date.now()): ArchiveFlushInput {
  return { queue, seq, at, jobs, events: jobs.map((j) => eventFor(j.job)) };
}

async function runFlush(input: ArchiveFlushInput) {
  const statements = archiveFlushStatements(env, input, eventOutbox, await ensureArchiveTable(env, input.at));
  const results = await env.DB.batch(statements);
  return {
    statements: statements.length,
    rowsWritten: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
    durationMs: results.reduce((n, r) => n + (r.meta.duration ?? 0), 0),
    sizeAfter: results[results.length - 1].meta.size_after ?? 0,
  };
}

/** A webhook endpoint subscribed to this queue's job events, so the flush writes outbox rows. */
async function subscribe(queue: string) {
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO webhook_endpoints (id, url, events, filter_queues, format, credentials, max_retries, retry_delay_ms, backoff, timeout_ms, disable_after_failures, created_at, updated_at)
     VALUES (?1, 'https://example.com/hook', '["job.completed","job.failed"]', json_array(?2), 'json', 'unused', 0, 1000, 'fixed', 5000, 100, ?3, ?3)`,
  )
    .bind(`whe_${queue}`, queue, now)
    .run();
}

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(...params).first<{ n: number }>())!.n;
const counts = async (queue: string) =>
  Object.fromEntries(
    (await env.DB.prepare(`SELECT status, n FROM job_counts WHERE queue = ?1`).bind(queue).all<{ status: string; n: number }>()).results.map((r) => [r.status, r.n]),
  );
const totals = (queue: string) => env.DB.prepare(`SELECT completed, failed, retried FROM job_totals WHERE queue = ?1`).bind(queue).first();

describe("archive flush", () => {
  it("writes a flush once: a replay of the same (queue, seq) changes no job, counter, rollup or outbox row", async () => {
    const queue = uniqueQueue("flush");
    await subscribe(queue);
    const jobs: ArchivedJob[] = Array.from({ length: 500 }, (_, i) =>
      i % 10 === 0
        ? {
            job: finishedJob(queue, i, { status: "failed", error: "boom", attempt: 2, retryCount: 1 }),
            attempts: [1, 2].map((attempt) => ({ jobId: finishedJob(queue, i).id, attempt, status: "failed" as const, startedAt: 1, completedAt: 2, durationMs: 1, error: "boom", retryAt: null })),
            logs: [{ attempt: 2, level: "Error", message: "boom", details: null, stepName: null, createdAt: 3 }],
          }
        : { job: finishedJob(queue, i), attempts: [], logs: [] },
    );
    const input = flushOf(queue, 1, jobs);

    const first = await runFlush(input);
    // Set-based: 500 jobs and their 500 events are a handful of statements, not one per event.
    expect(first.statements).toBeLessThanOrEqual(15);
    const after = {
      jobs: await count(`jobs WHERE queue = ?1`, queue),
      attempts: await count(`job_attempts WHERE job_id LIKE 'job_' || ?1 || '%'`, queue),
      logs: await count(`job_log_pages WHERE job_id LIKE 'job_' || ?1 || '%'`, queue),
      outbox: await count(`webhook_deliveries WHERE endpoint_id = ?1`, `whe_${queue}`),
      counts: await counts(queue),
      totals: await totals(queue),
      rollups: await env.DB.prepare(`SELECT SUM(completed) AS c, SUM(failed) AS f FROM job_rollups WHERE queue = ?1`).bind(queue).first(),
    };
    expect(after).toEqual({
      jobs: 500,
      attempts: 100,
      logs: 50,
      outbox: 500,
      counts: { completed: 450, failed: 50 },
      totals: { completed: 450, failed: 50, retried: 0 },
      rollups: { c: 450, f: 50 },
    });

    const replay = await runFlush(input);
    expect(replay.rowsWritten).toBe(0);
    expect({
      jobs: await count(`jobs WHERE queue = ?1`, queue),
      attempts: await count(`job_attempts WHERE job_id LIKE 'job_' || ?1 || '%'`, queue),
      logs: await count(`job_log_pages WHERE job_id LIKE 'job_' || ?1 || '%'`, queue),
      outbox: await count(`webhook_deliveries WHERE endpoint_id = ?1`, `whe_${queue}`),
      counts: await counts(queue),
      totals: await totals(queue),
      rollups: await env.DB.prepare(`SELECT SUM(completed) AS c, SUM(failed) AS f FROM job_rollups WHERE queue = ?1`).bind(queue).first(),
    }).toEqual(after);
    // Another seq of the same queue is a new flush.
    const next = await runFlush(flushOf(queue, 2, [{ job: finishedJob(queue, 900), attempts: [], logs: [] }]));
    expect(next.rowsWritten).toBeGreaterThan(0);
    expect(await counts(queue)).toEqual({ completed: 451, failed: 50 });
  });

  it("moves a revived job's archived row from its earlier day's table to today's and between status counts", async () => {
    const queue = uniqueQueue("revive");
    const failed = finishedJob(queue, 1, { status: "failed", error: "boom" });
    const earlier = Date.now() - 3 * 86_400_000;
    await runFlush(flushOf(queue, 1, [{ job: failed, attempts: [], logs: [] }], earlier));
    expect(await counts(queue)).toEqual({ failed: 1 });
    expect(await count(`${archiveTableFor(earlier)} WHERE id = ?1`, failed.id)).toBe(1);
    const revived = { ...failed, status: "completed" as const, error: null, attempt: 2, updatedAt: failed.updatedAt + 1000 };
    await runFlush({ ...flushOf(queue, 2, [{ job: revived, attempts: [], logs: [] }]), maybeArchived: [revived.id] });
    expect(await counts(queue)).toEqual({ failed: 0, completed: 1 });
    expect(await count(`${archiveTableFor(earlier)} WHERE id = ?1`, failed.id)).toBe(0);
    expect(await count(`${archiveTableFor(Date.now())} WHERE id = ?1`, failed.id)).toBe(1);
    expect(await count(`jobs WHERE id = ?1`, failed.id)).toBe(1);
    const row = await env.DB.prepare(`SELECT status, error, attempt FROM jobs WHERE id = ?1`).bind(failed.id).first();
    expect(row).toEqual({ status: "completed", error: null, attempt: 2 });
    // The same job twice in one flush: its last row, counted once. (A flush journaled before
    // `maybeArchived` was kept looks for every job's earlier row.)
    const again = { ...revived, status: "cancelled" as const, updatedAt: revived.updatedAt + 1000 };
    await runFlush(flushOf(queue, 3, [{ job: revived, attempts: [], logs: [] }, { job: again, attempts: [], logs: [] }]));
    expect(await counts(queue)).toEqual({ failed: 0, completed: 0, cancelled: 1 });
  });

  it("looks for earlier rows only of the jobs that may have one: a job created and ended in the object has none", async () => {
    const queue = uniqueQueue("fresh");
    const jobs = [1, 2, 3].map((i) => ({ job: finishedJob(queue, i), attempts: [], logs: [] }));
    const everyId = archiveFlushStatements(env, flushOf(queue, 1, jobs), eventOutbox, archiveTableFor(Date.now())).length;
    const fresh = await runFlush({ ...flushOf(queue, 1, jobs), maybeArchived: [] });
    // Two statements fewer: the count and the delete of earlier rows, each a probe per day table and job.
    expect(fresh.statements).toBe(everyId - 2);
    expect(await counts(queue)).toEqual({ completed: 3 });
    expect(await count(`jobs WHERE queue = ?1`, queue)).toBe(3);
  });

  it("packs an attempt's log lines into one row and reads them back in the API's shape, after the old engine's lines", async () => {
    const queue = uniqueQueue("logs");
    const job = finishedJob(queue, 1, { attempt: 2 });
    await env.DB.prepare(`INSERT INTO job_logs (job_id, attempt, level, message, created_at) VALUES (?1, 1, 'Info', 'old engine', 1)`).bind(job.id).run();
    const lines = Array.from({ length: 3 }, (_, i) => ({ attempt: 2, level: "Info", message: `line ${i}`, details: i === 1 ? "{}" : null, stepName: null, createdAt: 10 + i }));
    await runFlush(flushOf(queue, 1, [{ job, attempts: [], logs: lines }]));
    expect(await count(`job_log_pages WHERE job_id = ?1`, job.id)).toBe(1);
    const read = await readArchivedJobLogs(env, job.id);
    expect(read.map((l) => [l.attempt, l.message, l.details, l.createdAt])).toEqual([
      [1, "old engine", null, 1],
      [2, "line 0", null, 10],
      [2, "line 1", "{}", 11],
      [2, "line 2", null, 12],
    ]);
    expect(new Set(read.map((l) => l.id)).size).toBe(4);
    expect(await readArchivedJobLogs(env, job.id, 2)).toHaveLength(2);
  });

  // The bound: a completed job's row in its day table (WITHOUT ROWID: the row is its primary-key
  // entry) and its created_at index entry are 2; a log line adds its attempt's packed page (1); the
  // flush's shared rows (marker and its index entry, counters, rollups, totals) spread over the
  // flush's jobs. A failed job is also in the failed/cancelled status index and the failed
  // completion-time index (4).
  it("writes at most 2.1 rows per archived simple job, and one more with a log line", async () => {
    const queue = uniqueQueue("rows");
    const n = 500;
    const sizeBefore = (await env.DB.prepare(`SELECT 1`).run()).meta.size_after ?? 0;
    const plain = await runFlush({ ...flushOf(queue, 1, Array.from({ length: n }, (_, i) => ({ job: finishedJob(queue, i), attempts: [], logs: [] }))), maybeArchived: [] });
    const withLog = await runFlush(
      flushOf(
        queue,
        2,
        Array.from({ length: n }, (_, i) => ({
          job: finishedJob(queue, n + i),
          attempts: [],
          logs: [{ attempt: 1, level: "Info", message: "hello", details: null, stepName: null, createdAt: 1 }],
        })),
      ),
    );
    const single = await runFlush(flushOf(queue, 3, [{ job: finishedJob(queue, 2 * n), attempts: [], logs: [] }]));
    const failed = await runFlush(
      flushOf(queue, 4, Array.from({ length: n }, (_, i) => ({ job: finishedJob(queue, 3 * n + i, { status: "failed", error: "boom" }), attempts: [], logs: [] }))),
    );
    console.log(
      `rows written per archived job: ${(plain.rowsWritten / n).toFixed(3)} simple, ${(withLog.rowsWritten / n).toFixed(3)} with one log line, ${(failed.rowsWritten / n).toFixed(3)} failed, ${single.rowsWritten} for a flush of one job; ` +
        `a flush of ${n} simple jobs took ${plain.durationMs.toFixed(1)} ms of SQL (local) and grew the database by about ${Math.round((plain.sizeAfter - sizeBefore) / n)} bytes per job`,
    );
    expect(plain.rowsWritten / n).toBeLessThanOrEqual(2.1);
    expect(withLog.rowsWritten / n).toBeLessThanOrEqual(3.1);
    expect(failed.rowsWritten / n).toBeLessThanOrEqual(4.1);
  });

  it("stores each outbox event exactly as JSON.stringify writes it, quotes, escapes and non-ASCII text included", async () => {
    const queue = uniqueQueue("payload");
    await subscribe(queue);
    const job = finishedJob(queue, 1, { name: 'say "hé"\n\u2028 😀 \\ done', result: JSON.stringify({ ratio: 0.1, big: 12345678901234, neg: -1.5e-7 }) });
    const input = flushOf(queue, 1, [{ job, attempts: [], logs: [] }]);
    await runFlush(input);
    const row = await env.DB.prepare(`SELECT payload FROM webhook_deliveries WHERE endpoint_id = ?1`).bind(`whe_${queue}`).first<{ payload: string }>();
    expect(row?.payload).toBe(JSON.stringify(input.events[0]));
  });

  it("sends the webhook outbox rows a flush wrote once the flush has committed", async () => {
    const queue = uniqueQueue("sent");
    const tag = `flush-${queue}`;
    await createWebhook({ url: `${targetUrl()}/record/${tag}`, events: ["job.completed"], filters: { queues: [queue] } });
    const input = flushOf(queue, 1, [{ job: finishedJob(queue, 1), attempts: [], logs: [] }]);
    await runFlush(input);
    await deliverFlushedEvents(env, input.events);
    const [call] = await waitFor(async () => {
      const { calls } = await targetCalls(tag);
      return calls.length ? calls : null;
    }, 20_000);
    expect(JSON.parse(call.body)).toMatchObject({ event: "job.completed", data: { jobId: input.jobs[0].job.id, queue } });
  });

  it("splits a flush whose rows and events exceed one D1 value into several statements, and writes them all", async () => {
    const queue = uniqueQueue("big");
    await subscribe(queue);
    const result = JSON.stringify({ blob: "x".repeat(60_000) });
    const jobs = Array.from({ length: 40 }, (_, i) => ({ job: finishedJob(queue, i, { result }), attempts: [], logs: [] }));
    const input = { ...flushOf(queue, 1, jobs), events: jobs.map((j) => makeEvent("job.completed", jobEventData(j.job, { status: "completed", previousStatus: "running", completedAt: j.job.completedAt, result }))) };
    await runFlush(input);
    expect(await count(`jobs WHERE queue = ?1 AND length(result) > 60000`, queue)).toBe(40);
    expect(await count(`webhook_deliveries WHERE endpoint_id = ?1`, `whe_${queue}`)).toBe(40);
  });
});
