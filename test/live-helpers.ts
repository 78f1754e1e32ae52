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

const liveTables = (sql: SqlStorage) =>
  sql
    .exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'live_%'`)
    .toArray()
    .map((r) => String(r.name))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));

/** Every row of the object's live log (all generations), in seq order. */
export function liveRows(sql: SqlStorage): { seq: number; kind: string; data: string }[] {
  return liveTables(sql)
    .flatMap((t) => sql.exec(`SELECT seq, kind, data FROM ${t}`).toArray())
    .map((r) => ({ seq: Number(r.seq), kind: String(r.kind), data: String(r.data) }))
    .sort((a, b) => a.seq - b.seq);
}

/** Puts a row back into the newest generation (a crash before the write that superseded it). */
export function restoreLiveRow(sql: SqlStorage, row: { seq: number; kind: string; data: string }) {
  sql.exec(`INSERT INTO ${liveTables(sql).at(-1)} (seq, kind, data) VALUES (?, ?, ?)`, row.seq, row.kind, row.data);
}

/** How many rows the live log holds now. */
export const storedRows = (sql: SqlStorage) => liveRows(sql).length;

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

/** Counts the object's `setAlarm` calls (each is billed as a storage write) until `restore` is called. */
export function countSetAlarm(state: DurableObjectState): { readonly calls: number; restore: () => void } {
  const storage = state.storage;
  const real = storage.setAlarm;
  let calls = 0;
  Object.defineProperty(storage, "setAlarm", {
    value: (...args: Parameters<DurableObjectStorage["setAlarm"]>) => {
      calls++;
      return real.apply(storage, args);
    },
    configurable: true,
  });
  return {
    get calls() {
      return calls;
    },
    restore: () => Object.defineProperty(storage, "setAlarm", { value: real, configurable: true }),
  };
}
