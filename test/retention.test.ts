import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { PURGE_BATCH, purgeFinishedJobs, purgeMetrics } from "../src/maintenance/retention";
import { RETENTION_INTERVAL_MS, runDueMaintenance } from "../src/maintenance/tasks";
import { uniqueQueue } from "./helpers";

const DAY = 86_400_000;

/** Jobs that finished `ageDays` ago, with an attempt and a log line each. */
async function seedOldJobs(queue: string, count: number, ageDays: number, status = "completed") {
  const at = Date.now() - ageDays * DAY;
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO jobs (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       SELECT printf('job_%s_%05d', ?1, i), ?1, 'echo', 'old', ?4, 1, '{}', ?2, 1, 3, ?2, ?2, ?2, CASE WHEN ?4 IN ('completed', 'failed', 'cancelled') THEN ?2 + 5 END FROM n`,
    ).bind(queue, at, count, status),
    env.DB.prepare(`INSERT INTO job_attempts (job_id, attempt, status, started_at, completed_at, duration_ms) SELECT id, 1, 'completed', run_at, run_at + 5, 5 FROM jobs WHERE queue = ?1`).bind(queue),
    env.DB.prepare(`INSERT INTO job_logs (job_id, attempt, level, message, created_at) SELECT id, 1, 'Info', 'hello', run_at FROM jobs WHERE queue = ?1`).bind(queue),
  ]);
}

const countWhere = async (sql: string, queue: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(queue).first<{ n: number }>())!.n;

describe("retention", () => {
  it("purges finished jobs past the retention age with their attempts and logs, in bounded transactions", async () => {
    const queue = uniqueQueue("purge");
    await seedOldJobs(queue, PURGE_BATCH * 2 + 100, 40);
    const keep = uniqueQueue("keep");
    await seedOldJobs(keep, 3, 10);
    const waiting = uniqueQueue("waiting");
    await seedOldJobs(waiting, 2, 40, "pending");

    const cutoff = Date.now() - 30 * DAY;
    const one = await purgeFinishedJobs(env, cutoff, 1);
    expect(one.deleted).toBeLessThanOrEqual(PURGE_BATCH);
    expect(one.more).toBe(true);
    for (let run = 0; run < 10 && (await purgeFinishedJobs(env, cutoff, 2)).more; run++);

    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`job_attempts WHERE job_id LIKE 'job_' || ?1 || '%'`, queue)).toBe(0);
    expect(await countWhere(`job_logs WHERE job_id LIKE 'job_' || ?1 || '%'`, queue)).toBe(0);
    expect(await countWhere(`jobs WHERE queue = ?1`, keep)).toBe(3);
    expect(await countWhere(`job_logs WHERE job_id LIKE 'job_' || ?1 || '%'`, keep)).toBe(3);
    expect(await countWhere(`jobs WHERE queue = ?1`, waiting)).toBe(2);
    await env.DB.prepare(`DELETE FROM jobs WHERE queue IN (?1, ?2)`).bind(keep, waiting).run();
  });

  it("purges hourly rollups and annotations past their age and keeps the all-time totals", async () => {
    const queue = uniqueQueue("rollups");
    const hour = (daysAgo: number) => Math.floor((Date.now() - daysAgo * DAY) / 3600_000) * 3600_000;
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO job_rollups (hour, queue, type, completed) VALUES (?1, ?3, 'echo', 5), (?2, ?3, 'echo', 7)`).bind(hour(500), hour(399), queue),
      env.DB.prepare(`INSERT INTO job_failure_reasons (hour, queue, type, reason, count) VALUES (?1, ?2, 'echo', 'x', 1)`).bind(hour(500), queue),
      env.DB.prepare(`INSERT INTO job_totals (queue, type, completed) VALUES (?1, 'echo', 12)`).bind(queue),
      env.DB.prepare(`INSERT INTO queue_events (id, at, queue, type, data) VALUES (?1, ?2, ?3, 'queue.paused', '{}')`).bind(`evt_${queue}`, hour(450), queue),
    ]);
    await purgeMetrics(env, Date.now() - 400 * DAY, 400);
    const left = await env.DB.prepare(`SELECT hour, completed FROM job_rollups WHERE queue = ?1`).bind(queue).all();
    expect(left.results).toEqual([{ hour: hour(399), completed: 7 }]);
    expect(await countWhere(`job_failure_reasons WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`queue_events WHERE queue = ?1`, queue)).toBe(0);
    expect(await countWhere(`job_totals WHERE queue = ?1 AND completed = 12`, queue)).toBe(1);
  });

  it("runs once a day from the every-minute cron, using the task row as its marker", async () => {
    const queue = uniqueQueue("cron");
    await seedOldJobs(queue, 3, 31);
    await env.DB.prepare(`UPDATE maintenance_tasks SET next_run_at = 0, lease_until = NULL WHERE name = 'retention'`).run();

    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const task = await env.DB.prepare(`SELECT next_run_at, lease_until, last_result FROM maintenance_tasks WHERE name = 'retention'`).first<any>();
    expect(task.next_run_at).toBeGreaterThan(Date.now() + RETENTION_INTERVAL_MS - 3600_000);
    expect(task.lease_until).toBeNull();
    expect(JSON.parse(task.last_result)).toMatchObject({ jobsDeleted: expect.any(Number), more: false });
    expect(await countWhere(`jobs WHERE queue = ?1`, queue)).toBe(0);

    expect(await runDueMaintenance(env)).toBeNull();
    await env.DB.prepare(`UPDATE maintenance_tasks SET next_run_at = 0, lease_until = ?1 WHERE name = 'retention'`).bind(Date.now() + 60_000).run();
    expect(await runDueMaintenance(env)).toBeNull();
    await env.DB.prepare(`UPDATE maintenance_tasks SET lease_until = NULL WHERE name = 'retention'`).run();
    expect(await runDueMaintenance(env)).toMatchObject({ more: false });
  });
});
