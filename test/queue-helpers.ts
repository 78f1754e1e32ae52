import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import type { ExecMessage } from "../src/scheduler/messages";
import { api } from "./helpers";

/** A job that is pending and due in D1 but not dispatched yet: the scheduler holds it for an hour. */
export async function dueButHeldJob(queue: string, parameters: Record<string, unknown> = { message: "dup" }, extra: Record<string, unknown> = {}) {
  const created = await api("/jobs", { body: { type: "echo", parameters, delay: "01:00:00", queue, ...extra } });
  expect(created.status).toBe(201);
  await env.DB.prepare("UPDATE jobs SET run_at = ? WHERE id = ?").bind(Date.now() - 1000, created.json.id).run();
  return created.json.id as string;
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
