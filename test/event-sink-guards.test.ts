import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import "../src/index";
import { eventStatements, jobStateGuard, type GuardedEvent } from "../src/events/publisher";
import { jobEventData, makeEvent } from "../src/model/events";
import { uniqueQueue } from "./helpers";

const holds = { sql: "1 = ?", params: [1] };
const fails = { sql: "1 = ?", params: [0] };

describe("event sink guards", () => {
  it("writes each group of events only while its own guard holds, one set of statements per guard", async () => {
    const queue = uniqueQueue("guards");
    const paused = (guard: typeof holds): GuardedEvent => ({ event: makeEvent("queue.paused", { queue, status: "paused" }), guard });
    const events = [paused(holds), paused(holds), paused(fails), paused({ sql: "2 = ?", params: [2] })];
    const statements = eventStatements(env, events);
    // Three distinct guards: per guard one queue-annotation and one webhook outbox statement.
    expect(statements).toHaveLength(6);
    await env.DB.batch(statements);
    const { results } = await env.DB.prepare(`SELECT id FROM queue_events WHERE queue = ?1`).bind(queue).all<{ id: string }>();
    expect(results.map((r) => r.id).sort()).toEqual([events[0], events[1], events[3]].map((e) => e.event.id).sort());
  });

  it("still checks each job's own state for events guarded by it", async () => {
    const queue = uniqueQueue("jobstate");
    const now = Date.now();
    await env.DB.prepare(
      `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, attempt, max_retries, created_at, updated_at, executed_at, completed_at)
       VALUES (?1 || '_a', ?1, 'echo', 'a', 'completed', 1, '{}', ?2, 1, 3, ?2, ?2, ?2, ?2)`,
    )
      .bind(`job_${queue}`, now)
      .run();
    const event = (id: string) => {
      const job = { id, type: "echo", name: "a", queue, priority: 1, attempt: 1, retryCount: 0, maxRetries: 3, runAt: now, executedAt: now };
      return makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: now }));
    };
    const committed = { event: event(`job_${queue}_a`), guard: jobStateGuard(`job_${queue}_a`, "completed", 1, now) };
    const lost = { event: event(`job_${queue}_b`), guard: jobStateGuard(`job_${queue}_b`, "completed", 1, now) };
    await env.DB.batch(eventStatements(env, [committed, lost]));
    expect(await env.DB.prepare(`SELECT completed FROM job_totals WHERE queue = ?1`).bind(queue).first()).toEqual({ completed: 1 });
  });
});
