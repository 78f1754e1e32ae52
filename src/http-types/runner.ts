import { readSettings } from "../config";
import type { JobRow } from "../db/schema";
import { HTTP_RESULT_BODY_LIMIT } from "../jobs/http";
import { CancelledError, HANDED_OFF, PermanentJobError, type JobContext } from "../jobs/job-type";
import { randomToken, sha256Hex } from "../lib/crypto";
import { BlockedTargetError, guardedFetch, type GuardedResponse } from "../net/guarded-fetch";
import { openCredentials, type Credentials } from "../webhooks/credentials";
import { signatureHeaders } from "../webhooks/signing";
import { credentialsContext } from "./registration";
import { acceptCallback, getDefinition, issueCallback, readCallback, settleCallback, type HttpJobDefinition } from "./store";

const CANCEL_NOTICE_TIMEOUT_MS = 10_000;

/**
 * One attempt of a job of a registered HTTP type: a signed POST of the job to the service. A 2xx
 * completes with the response JSON; anything else fails the attempt; 202 hands the attempt over
 * to the service, which ends it with a callback (complete/fail, with the attempt's token) within
 * the type's callback window, else the attempt's lease expires and it fails.
 */
export async function runHttpServiceJob(def: HttpJobDefinition, job: JobRow, parameters: unknown, ctx: JobContext): Promise<unknown> {
  const { env, settings, attempt } = ctx;
  const credentials = await openCredentials(env, def.credentials, credentialsContext(def.typeName));
  const token = randomToken(32);
  await issueCallback(env, job.id, attempt, await sha256Hex(token), Date.now());
  const base = `${settings.basePath}/jobs/${encodeURIComponent(job.id)}/attempts/${attempt}`;
  const body = JSON.stringify({
    action: "run",
    jobId: job.id,
    type: job.type,
    name: job.name,
    attempt,
    parameters,
    callback: {
      token,
      timeoutSeconds: def.callbackTimeoutMs / 1000,
      paths: { complete: `${base}/complete`, fail: `${base}/fail`, progress: `${base}/progress`, logs: `${base}/logs` },
    },
  });

  // Cancelled (or timed out) while the delivery is in flight: the service is told, if it was a cancel.
  const onAbort = () => {
    if (ctx.signal.reason instanceof CancelledError) ctx.keepAlive?.(cancelDuringDelivery(env, def, credentials, job, attempt));
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await signedPost(def.url, credentials, `${job.id}_${attempt}`, body, ctx.signal, settings.allowPrivateTargets, HTTP_RESULT_BODY_LIMIT);
    const text = { body: response.body, truncated: response.bodyTruncated };
    ctx.log(response.ok ? "Info" : "Error", `POST ${def.url} answered ${response.status}`, undefined, "delivery");
    if (response.status === 202) {
      if (await acceptCallback(env, job, attempt, Date.now() + def.callbackTimeoutMs)) {
        ctx.log("Info", `Waiting up to ${def.callbackTimeoutMs / 1000} s for the service's callback.`, undefined, "delivery");
        return HANDED_OFF;
      }
      // Not handed over: a callback came before the 202 (its verdict stands), or a cancel was
      // requested meanwhile (the attempt ends cancelled as soon as the runner notices).
      const reported = await reportedVerdict(env, job.id, attempt);
      return reported ? reported.value : await untilAborted(ctx.signal);
    }
    // Answered at once (or a callback came first): the token is spent either way.
    if (!(await settleCallback(env, job.id, attempt, { state: response.ok ? "completed" : "failed" }, Date.now(), "waiting"))) {
      const reported = await reportedVerdict(env, job.id, attempt);
      if (reported) return reported.value;
    }
    const result = responseResult(text);
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status} from ${def.url}`), { result: { status: response.status, body: result } });
    return result;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** What a callback reported for the attempt before its delivery returned: a result, or a thrown failure. */
async function reportedVerdict(env: Env, jobId: string, attempt: number): Promise<{ value: unknown } | null> {
  const reported = await readCallback(env, jobId, attempt);
  if (reported?.state === "completed") return { value: reported.result == null ? null : JSON.parse(reported.result) };
  if (reported?.state === "failed") {
    const message = reported.error ?? "The service reported a failure.";
    throw reported.retry ? new Error(message) : new PermanentJobError(message);
  }
  return null;
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** The attempt was cancelled while its delivery was in flight: the service is told. */
async function cancelDuringDelivery(env: Env, def: HttpJobDefinition, credentials: Credentials, job: JobRow, attempt: number): Promise<void> {
  try {
    await settleCallback(env, job.id, attempt, { state: "cancelled" }, Date.now(), "waiting");
    await postCancelNotice(def, credentials, job, attempt, readSettings(env).allowPrivateTargets);
  } catch (err) {
    console.warn(`could not tell the service that job ${job.id} was cancelled`, err);
  }
}

/** Tells a job's service that an attempt was cancelled: a signed POST of `{ action: "cancel", ... }`. */
export async function sendCancelNotice(env: Env, job: JobRow, attempt: number): Promise<void> {
  try {
    const def = await getDefinition(env, job.id);
    if (!def) return;
    const credentials = await openCredentials(env, def.credentials, credentialsContext(def.typeName));
    await postCancelNotice(def, credentials, job, attempt, readSettings(env).allowPrivateTargets);
  } catch (err) {
    console.warn(`could not tell the service that job ${job.id} was cancelled`, err);
  }
}

async function postCancelNotice(def: HttpJobDefinition, credentials: Credentials, job: JobRow, attempt: number, allowPrivate: boolean): Promise<void> {
  const notice = JSON.stringify({ action: "cancel", jobId: job.id, type: job.type, name: job.name, attempt });
  await signedPost(def.url, credentials, `${job.id}_${attempt}_cancel`, notice, AbortSignal.timeout(CANCEL_NOTICE_TIMEOUT_MS), allowPrivate, 0);
}

async function signedPost(url: string, credentials: Credentials, webhookId: string, body: string, signal: AbortSignal, allowPrivate: boolean, bodyLimit: number): Promise<GuardedResponse> {
  const headers = new Headers(credentials.headers);
  headers.set("content-type", "application/json");
  const signature = await signatureHeaders([credentials.secret], webhookId, Math.floor(Date.now() / 1000), body);
  for (const [name, value] of Object.entries(signature)) headers.set(name, value);
  try {
    // Redirects are not followed: they would turn the signed POST into a GET.
    return await guardedFetch(url, { method: "POST", headers, body, signal, allowPrivate, followRedirects: false, bodyLimit });
  } catch (err) {
    if (err instanceof BlockedTargetError) throw new PermanentJobError(err.message);
    throw err;
  }
}

/** The response's JSON; its text when it is not JSON; null when empty. */
function responseResult(text: { body: string; truncated: boolean }): unknown {
  if (text.truncated) return { bodyTruncated: true, body: text.body };
  if (!text.body.trim()) return null;
  try {
    return JSON.parse(text.body);
  } catch {
    return text.body;
  }
}
