import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import { claimLiveMessages, extendLiveLease, findLiveJobs, markLiveStarted } from "../src/scheduler/client";
import type { ExecMessage } from "../src/scheduler/messages";
import { api } from "./helpers";

/**
 * A job that is pending and due but not dispatched: its queue is paused (this pauses it), so its
 * scheduler holds it, and an exec message the test delivers itself claims it. Resume the queue to
 * let the scheduler dispatch what is left.
 */
export async function dueButHeldJob(queue: string, parameters: Record<string, unknown> = { message: "dup" }, extra: Record<string, unknown> = {}) {
  // PATCH makes the queue if it is new, so it can be paused before its first job.
  expect((await api(`/queues/${queue}`, { method: "PATCH", body: {} })).status).toBe(200);
  expect((await api(`/queues/${queue}/pause`, { method: "POST" })).status).toBe(200);
  const created = await api("/jobs", { body: { type: "echo", parameters, queue, ...extra } });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

/** The job as its queue's scheduler holds it (it must be live). */
export async function liveJob(id: string) {
  const detail = (await findLiveJobs(env, [id])).get(id);
  expect(detail, `job ${id} is live`).toBeDefined();
  return detail!.job;
}

/**
 * What a consumer leaves behind when it dies after claiming (and, if `started`, after starting the
 * handler): the attempt is running in its scheduler and nobody will end it. The job must be due and
 * not dispatched (see dueButHeldJob). Returns the claimed attempt.
 */
export async function claimAndDie(id: string, started: boolean): Promise<number> {
  const job = await liveJob(id);
  const {
    claimed: [claimed],
  } = await claimLiveMessages(env, job.queue, [{ token: crypto.randomUUID(), jobs: [[id, job.attempt]] }]);
  expect(claimed).toHaveLength(1);
  if (started) await markLiveStarted(env, [{ queue: job.queue, id, attempt: claimed[0].attempt }]);
  return claimed[0].attempt;
}

/** Moves a running attempt's lease into the past, as if its consumer stopped answering long ago. */
export async function expireLeaseOf(id: string): Promise<void> {
  const job = await liveJob(id);
  expect(job.status).toBe("running");
  const { extended } = await extendLiveLease(env, { queue: job.queue, id, attempt: job.attempt, leaseUntil: Date.now() - 1000 });
  expect(extended).toBe(true);
}

/**
 * Hands message bodies to the Worker's queue handler as one batch of `queueName`, and reports what
 * it acked and retried. `attempts` > 1 delivers them as the queue redelivers a message.
 */
export async function deliverBatch(
  bodies: unknown[],
  { queueName = "edge-ticker-exec", withEnv = env, attempts = 1 }: { queueName?: string; withEnv?: Env; attempts?: number } = {},
) {
  const batch = createMessageBatch(
    queueName,
    bodies.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, withEnv, ctx);
  return getQueueResult(batch, ctx);
}

/** An exec message as the scheduler sends it: these attempts (job id, attempt it claims from), one dispatch token. */
export function execMessage(queue: string, jobs: [jobId: string, attempt: number][], token = crypto.randomUUID()): ExecMessage {
  return { queue, token, jobs };
}

/** Every job the API knows, live and archived (the list's total). */
export async function jobTotal(): Promise<number> {
  const res = await api("/jobs?limit=1");
  expect(res.status).toBe(200);
  return res.json.totalCount as number;
}

/** The ids of a recurring job's runs, live and archived, oldest first. */
export async function runsOf(recurringId: string): Promise<{ id: string; scheduledFor: string | null; status: string }[]> {
  const res = await api(`/jobs?recurringId=${encodeURIComponent(recurringId)}&limit=500`);
  expect(res.status).toBe(200);
  return res.json.jobs.reverse();
}
