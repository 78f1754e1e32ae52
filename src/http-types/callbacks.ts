import { deliverEvents } from "../events/publisher";
import { makeEvent } from "../model/events";
import { ApiError } from "../http/errors";
import { constantTimeEqual, sha256Hex } from "../lib/crypto";
import { heartbeatLive } from "../scheduler/client";
import { finishHandedOff, type HandedOffVerdict } from "./hand-off";
import { getJob } from "../services/job-reads";
import { appendCallbackLogs, findCallbackToken, settleCallback } from "./store";

// Compared against when the attempt has no token, so a miss takes as long as a wrong token.
const NO_TOKEN_HASH = "0".repeat(64);

/**
 * The callback token alone authenticates a call, and only for its own job and attempt. A
 * cancelled job answers 409 `cancelled`; an attempt that already ended answers 409 `attempt_ended`.
 */
export async function authorizeCallback(env: Env, token: string | null, jobId: string, attempt: number): Promise<void> {
  const [target, job] = await Promise.all([findCallbackToken(env, jobId, attempt), getJob(env, jobId)]);
  const matches = await constantTimeEqual(token ? await sha256Hex(token) : "", target?.tokenHash ?? NO_TOKEN_HASH);
  if (!token || !target || !job || !matches) {
    throw new ApiError(401, "unauthorized", "A valid callback token for this job attempt is required.", undefined, { "WWW-Authenticate": 'Bearer realm="edge-ticker"' });
  }
  const sameAttempt = job.attempt === attempt;
  if (target.state === "cancelled" || (sameAttempt && (job.cancelRequested === 1 || job.status === "cancelled"))) {
    throw new ApiError(409, "cancelled", "The job was cancelled; stop working on it.");
  }
  if ((target.state !== "waiting" && target.state !== "accepted") || !sameAttempt || job.status !== "running") {
    throw attemptEnded();
  }
}

/**
 * complete / fail: the first one wins. An attempt handed over with a 202 is ended here; one whose
 * delivery is still in flight is ended by its consumer with this verdict.
 */
export async function settleFromCallback(
  env: Env,
  jobId: string,
  attempt: number,
  verdict: { state: "completed"; result: unknown } | { state: "failed"; error: string; retry: boolean },
): Promise<void> {
  const stored: HandedOffVerdict =
    verdict.state === "completed" ? { state: "completed", result: JSON.stringify(verdict.result ?? null) } : verdict;
  const now = Date.now();
  if (await settleCallback(env, jobId, attempt, stored, now, "accepted")) {
    const job = await getJob(env, jobId);
    if (job && job.attempt === attempt && (await finishHandedOff(env, job, stored))) return;
    throw attemptEnded();
  }
  if (!(await settleCallback(env, jobId, attempt, stored, now, "waiting"))) throw attemptEnded();
}

const attemptEnded = () => new ApiError(409, "attempt_ended", "This attempt has already ended (completed, failed or timed out).");

/** Progress of a handed-off attempt: kept by its scheduler (through a heartbeat) and announced live. */
export async function recordCallbackProgress(env: Env, jobId: string, attempt: number, percent: number, message: string | null): Promise<void> {
  const job = await getJob(env, jobId);
  if (!job || job.status !== "running" || job.attempt !== attempt) return;
  await heartbeatLive(env, [{ queue: job.queue, id: jobId, attempt, progress: { percent, message } }]);
  await deliverEvents(env, [makeEvent("job.progress", { jobId, jobType: job.type, jobName: job.name, queue: job.queue, attempt, percent, message })]);
}

export type CallbackLogLine = { level: string; message: string; details?: string; stepName?: string };

/** Log lines of a handed-off attempt: kept until the attempt ends (then with its job), and announced live. */
export async function recordCallbackLogs(env: Env, jobId: string, attempt: number, lines: CallbackLogLine[]): Promise<void> {
  const job = await getJob(env, jobId);
  if (!job || job.status !== "running" || job.attempt !== attempt) return;
  const now = Date.now();
  const rows = lines.map((l) => ({ level: l.level, message: l.message, details: l.details ?? null, stepName: l.stepName ?? null, createdAt: now }));
  await appendCallbackLogs(env, jobId, attempt, rows);
  const base = { jobId, jobType: job.type, jobName: job.name, queue: job.queue, attempt };
  await deliverEvents(env, rows.map((r) => makeEvent("job.log", { ...base, ...r, createdAt: new Date(r.createdAt).toISOString() }, now)));
}
