import { readSettings } from "../config";
import type { JobRow } from "../db/schema";
import type { AttemptOutcome, LogLine } from "../model/attempt";
import { retryDelayMs } from "../model/retry-policy";
import { finishLiveAttempts } from "../scheduler/client";
import { getJob } from "../services/job-reads";
import { sendCancelNotice } from "./runner";
import { appendCallbackLogs, callbackLogs, settleCallback } from "./store";

export const CANCELLED_WHILE_WAITING = "Cancelled while waiting for the service's callback.";

/**
 * The consumer's side of an attempt answered 202: its log lines so far are kept with the attempt's
 * callback row until the attempt ends; its lease in its queue's scheduler already waits for the
 * callback (see acceptCallback), and the job stays running.
 */
export async function recordHandOff(env: Env, job: JobRow, logs: LogLine[]): Promise<void> {
  await appendCallbackLogs(env, job.id, job.attempt, logs).catch((err) => console.error(`could not keep the log lines of job ${job.id}'s handed-off attempt`, err));
}

export type HandedOffVerdict = { state: "completed"; result: string } | { state: "failed"; error: string; retry: boolean } | { state: "cancelled" };

/**
 * Ends a handed-off attempt as its service (or a cancel) says, like any attempt's end: its
 * scheduler records and announces it, and a retry goes back on its timeline. False when it had
 * already ended.
 */
export async function finishHandedOff(env: Env, job: JobRow, verdict: HandedOffVerdict): Promise<boolean> {
  const now = Date.now();
  let outcome: AttemptOutcome;
  if (verdict.state === "completed") outcome = { kind: "completed", result: verdict.result };
  else if (verdict.state === "cancelled") outcome = { kind: "cancelled", error: CANCELLED_WHILE_WAITING };
  else if (verdict.retry && job.retryCount < job.maxRetries) {
    outcome = { kind: "retry", error: verdict.error, runAt: now + retryDelayMs(job.retryCount, readSettings(env)), result: null };
  } else outcome = { kind: "failed", error: verdict.error, result: null };
  const logs = await callbackLogs(env, job.id, job.attempt);
  const statuses = await finishLiveAttempts(env, [{ queue: job.queue, id: job.id, attempt: job.attempt, outcome, logs, at: now, progress: null }]);
  return statuses.has(job.id);
}

/**
 * Cancel of a running job whose attempt waits for its service's callback: nothing in this Worker
 * is running it, so it ends here, and the service is sent a signed cancel notice. Returns the
 * cancelled job, or null when the attempt is not waiting for a callback (the consumer handles it).
 */
export async function cancelHandedOff(env: Env, job: JobRow): Promise<JobRow | null> {
  if (!(await settleCallback(env, job.id, job.attempt, { state: "cancelled" }, Date.now(), "accepted"))) return null;
  await finishHandedOff(env, job, { state: "cancelled" });
  await sendCancelNotice(env, job, job.attempt);
  return (await getJob(env, job.id)) ?? null;
}
