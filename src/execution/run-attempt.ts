import type { Settings } from "../config";
import { CANCELLED_WHILE_RUNNING, LEASE_GRACE_MS, type AttemptOutcome, type LogLine } from "../model/attempt";
import { MAX_RESULT_BYTES, MAX_TIMEOUT_SECONDS } from "../model/job";
import type { JobRow } from "../db/schema";
import { CancelledError, HANDED_OFF, PermanentJobError, type JobContext, type LogLevel } from "../jobs/job-type";
import { getJobType } from "../jobs/registry";
import { parametersForRun } from "../jobs/job-secrets";
import { registeredJobTypeFor } from "../http-types/resolve";
import { deliverEvents } from "../events/publisher";
import { makeEvent, type DomainEvent } from "../model/events";
import { retryDelayMs } from "../model/retry-policy";
import type { Heartbeat } from "./heartbeat";

/** Progress and log events reach live subscribers in batches at most this often. */
const LIVE_FLUSH_MS = 250;
const MAX_LOG_LINES = 1000;

/** How long a timed-out handler has to stop after its signal aborts before it counts as abandoned. */
export const ABANDON_GRACE_MS = 1000;

class TimedOut extends Error {}

export type AttemptReport = {
  outcome: AttemptOutcome;
  logs: LogLine[];
  progress: { percent: number; message: string | null } | null;
  finishedAt: number;
};
/** The attempt goes on outside this Worker and is not ended here (see HANDED_OFF). */
export type HandedOffReport = { handedOff: true; logs: LogLine[]; finishedAt: number };

/**
 * Runs one claimed attempt of a job with its timeout and cancellation, and decides what happens next.
 * While it runs, `heartbeat` reports it (and its progress) to its queue's scheduler and aborts it
 * when its cancel is requested. `invocationEnd` tells how long the consumer invocation running it
 * can last (the latest lease of what it claimed; asked only for an abandoned handler, see Chain.end):
 * a handler that ignores its signal can run no longer, so its retry waits for it.
 */
export async function runAttempt(
  env: Env,
  job: JobRow,
  settings: Settings,
  heartbeat: Heartbeat,
  invocationEnd: () => Promise<number> = async () => job.leaseUntil ?? 0,
): Promise<AttemptReport | HandedOffReport> {
  const logs: LogLine[] = [];
  let progress: AttemptReport["progress"] = null;
  const finish = (outcome: AttemptOutcome): AttemptReport => ({ outcome, logs, progress, finishedAt: Date.now() });
  const live = liveEmitter(env);
  const base = { jobId: job.id, jobType: job.type, jobName: job.name, queue: job.queue, attempt: job.attempt };
  // Once the attempt has ended, whatever a handler that ignored its signal still reports is dropped.
  let ended = false;
  const log = (level: LogLevel, message: string, details?: string, stepName?: string) => {
    if (ended || logs.length >= MAX_LOG_LINES) return;
    const line = { level, message: String(message), details: details ?? null, stepName: stepName ?? null, createdAt: Date.now() };
    logs.push(line);
    live.push(makeEvent("job.log", { ...base, ...line, createdAt: new Date(line.createdAt).toISOString() }));
  };

  const type = getJobType(job.type) ?? (await registeredJobTypeFor(env, job));
  if (!type) return finish({ kind: "failed", error: `No handler is registered for job type "${job.type}".`, result: null });
  const stored = await parametersForRun(env, job);
  if (!stored.ok) return finish({ kind: "failed", error: stored.error, result: null });
  const params = type.parameters.safeParse(stored.parameters);
  if (!params.success) return finish({ kind: "failed", error: `Stored parameters no longer match the "${job.type}" schema.`, result: null });

  const controller = new AbortController();
  // The race below ends when the signal aborts: rejected here rather than by an abort listener on each attempt's signal.
  let rejectAborted: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
  aborted.catch(() => {});
  const abort = (reason: Error) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    rejectAborted(reason);
  };
  const timeoutMs = attemptTimeoutMs(job, type.timeoutMs);
  const timer = setTimeout(() => abort(new TimedOut(`Timed out after ${timeoutMs / 1000} s.`)), timeoutMs);
  const kept: Promise<unknown>[] = [];
  const watch = heartbeat.watch(job, () => abort(new CancelledError(CANCELLED_WHILE_RUNNING)));
  const ctx: JobContext = {
    jobId: job.id,
    attempt: job.attempt,
    retryCount: job.retryCount,
    createdAt: job.createdAt,
    signal: controller.signal,
    log,
    progress(percent, message) {
      if (ended) return;
      progress = { percent: Math.max(0, Math.min(100, Number(percent) || 0)), message: message ?? null };
      live.push(makeEvent("job.progress", { ...base, percent: progress.percent, message: progress.message }));
      watch.progress(progress);
    },
    env,
    settings,
    keepAlive(work) {
      kept.push(work);
    },
  };

  let settled = false;
  try {
    const running = type.run(params.data, ctx);
    running.then(
      () => (settled = true),
      () => (settled = true),
    );
    const value = await Promise.race([running, aborted]);
    if (value === HANDED_OFF) return { handedOff: true, logs, finishedAt: Date.now() };
    return finish({ kind: "completed", result: serializeResult(value) });
  } catch (err) {
    const reason = controller.signal.aborted ? controller.signal.reason : err;
    const message = errorMessage(reason);
    if (reason instanceof CancelledError) return finish({ kind: "cancelled", error: message });
    log("Error", message, undefined, "attempt");
    const result = resultOf(err);
    const retryable = !(reason instanceof PermanentJobError) && job.retryCount < job.maxRetries;
    if (retryable) {
      // A timed-out handler that does not stop when its signal aborts is abandoned: it can go on
      // until this consumer invocation ends, so its retry waits until then and never runs beside it.
      const abandoned = reason instanceof TimedOut && !(await settlesWithin(() => settled, ABANDON_GRACE_MS));
      const runAt = Date.now() + retryDelayMs(job.retryCount, settings);
      return finish({ kind: "retry", error: message, runAt: abandoned ? Math.max(runAt, await invocationEnd()) : runAt, result });
    }
    return finish({ kind: "failed", error: message, result });
  } finally {
    ended = true;
    clearTimeout(timer);
    watch.stop();
    await Promise.allSettled(kept);
    await live.close();
  }
}

/**
 * How long an attempt may run: its own (or its type's) timeout, never more than MAX_TIMEOUT_SECONDS,
 * and never past its lease less the grace, so its scheduler holds it running for as long as it can run.
 */
export function attemptTimeoutMs(job: Pick<JobRow, "timeoutMs" | "leaseUntil" | "executedAt">, typeTimeoutMs: number): number {
  const capped = Math.min(job.timeoutMs ?? typeTimeoutMs, MAX_TIMEOUT_SECONDS * 1000);
  if (job.leaseUntil == null || job.executedAt == null) return capped;
  return Math.max(1, Math.min(capped, job.leaseUntil - LEASE_GRACE_MS - job.executedAt));
}

/** Polls `settled` until it is true (true) or `withinMs` passes (false). */
async function settlesWithin(settled: () => boolean, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (!settled()) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Buffers ephemeral events (progress, log lines) and hands them to the sinks in small batches. */
function liveEmitter(env: Env) {
  let buffer: DomainEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inflight: Promise<void> = Promise.resolve();
  const flush = () => {
    timer = null;
    const events = buffer;
    buffer = [];
    if (events.length) inflight = inflight.then(() => deliverEvents(env, events));
  };
  return {
    push(event: DomainEvent) {
      buffer.push(event);
      timer ??= setTimeout(flush, LIVE_FLUSH_MS);
    },
    async close() {
      if (timer) clearTimeout(timer);
      flush();
      await inflight;
    },
  };
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text || "The job failed without a message.").slice(0, 4000);
}

// A failing handler may attach what it saw (the http job attaches the response).
function resultOf(err: unknown): string | null {
  const result = err && typeof err === "object" && "result" in err ? (err as { result: unknown }).result : undefined;
  return result === undefined ? null : serializeResult(result);
}

function serializeResult(value: unknown): string {
  const json = JSON.stringify(value === undefined ? null : value) ?? "null";
  if (json.length <= MAX_RESULT_BYTES) return json;
  return JSON.stringify({ truncated: true, originalBytes: json.length, preview: json.slice(0, 1000) });
}
