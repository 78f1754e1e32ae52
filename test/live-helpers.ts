import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { schedulerFor } from "../src/scheduler/client";
import { newJobId } from "../src/scheduler/job-ids";
import type { EndedAttempt, NewLiveJob } from "../src/scheduler/live-protocol";
import type { ExecMessage } from "../src/scheduler/messages";
import { QueueScheduler } from "../src/scheduler/queue-scheduler";

/** A new job for `queue`, due now unless `runAt` says otherwise. */
export function newJob(queue: string, extra: Partial<NewLiveJob> = {}): NewLiveJob {
  const now = Date.now();
  return { id: newJobId(queue, now), queue, type: "echo", name: "live test", priority: 1, parameters: "{}", runAt: now, maxRetries: 2, timeoutMs: 10_000, createdAt: now, ...extra };
}

export const completed = (id: string, attempt: number, result = '{"ok":true}'): EndedAttempt => ({
  id,
  attempt,
  outcome: { kind: "completed", result },
  logs: [{ level: "info", message: `ran ${id}`, details: null, stepName: null, createdAt: Date.now() }],
  at: Date.now(),
  progress: null,
});

/** Rows of the object's own tables. */
export function storedRows(sql: SqlStorage) {
  const count = (t: string) => Number(sql.exec(`SELECT COUNT(*) AS n FROM ${t}`).one().n);
  return { segments: count("segments"), journal: count("journal") };
}

/**
 * Runs `fn` with a QueueScheduler instance over the queue's own storage whose exec queue is a
 * recorder (a stand-in for the Queues binding only): the test sees every message it sends and
 * no consumer races it. A new instance also rebuilds from storage, as after an eviction.
 */
export async function withObject<T>(queue: string, fn: (object: QueueScheduler, sent: ExecMessage[], state: DurableObjectState) => Promise<T>): Promise<T> {
  return runInDurableObject(schedulerFor(env, queue), async (_instance: QueueScheduler, state) => {
    const sent: ExecMessage[] = [];
    const recorder = {
      async send(body: ExecMessage) {
        sent.push(body);
      },
      async sendBatch(messages: { body: ExecMessage }[]) {
        for (const m of messages) sent.push(m.body);
      },
    };
    return fn(new QueueScheduler(state, { ...env, EXEC_QUEUE: recorder as unknown as Env["EXEC_QUEUE"] }), sent, state);
  });
}

/** A second instance over the same storage (an eviction and restart), also with a recording queue. */
export function restarted(state: DurableObjectState, sent: ExecMessage[] = []): QueueScheduler {
  const recorder = {
    async sendBatch(messages: { body: ExecMessage }[]) {
      for (const m of messages) sent.push(m.body);
    },
  };
  return new QueueScheduler(state, { ...env, EXEC_QUEUE: recorder as unknown as Env["EXEC_QUEUE"] });
}
