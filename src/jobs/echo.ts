import { z } from "zod";
import { defineJobType } from "./job-type";

/** Longest sleep outside development (DEV_JOB_TYPES): echo must not hold a worker slot for long. */
export const ECHO_MAX_SLEEP_MS = 5000;

/** Returns its parameters; can sleep, fail on request or log, for trying the system out and for benchmarks. */
export const echoJob = defineJobType({
  name: "echo",
  description: "Returns `message`, optionally after `sleepMs`; fails while the retry count is below `failTimes` (or always with `fail: true`).",
  parameters: z.strictObject({
    message: z.unknown().optional(),
    sleepMs: z.number().int().min(0).max(900_000).default(0),
    failTimes: z.number().int().min(0).max(100).default(0),
    fail: z.boolean().default(false),
    logLines: z.number().int().min(0).max(100).default(0),
    /** Record this run in the echo ledger (used by the fault suite's invariant checker). */
    ledger: z.boolean().default(false),
    progressSteps: z.number().int().min(0).max(100).default(0).describe("report progress in this many steps, spread over sleepMs"),
    ignoreSignal: z.boolean().default(false).describe("sleep through cancellation and timeout, as a badly written handler would"),
  }),
  builtIn: true,
  timeoutMs: 60_000,
  check(params, settings) {
    if (settings.devJobTypes) return [];
    return [
      ...(params.ledger ? [{ path: "parameters.ledger", message: "is for development only (DEV_JOB_TYPES)" }] : []),
      ...(params.ignoreSignal ? [{ path: "parameters.ignoreSignal", message: "is for development only (DEV_JOB_TYPES)" }] : []),
      ...(params.sleepMs > ECHO_MAX_SLEEP_MS ? [{ path: "parameters.sleepMs", message: `must be at most ${ECHO_MAX_SLEEP_MS} outside development (DEV_JOB_TYPES)` }] : []),
    ];
  },
  async run(params, ctx) {
    if (params.ledger) {
      await ctx.env.DB.prepare("INSERT INTO echo_ledger (job_id, attempt, started_at) VALUES (?, ?, ?)").bind(ctx.jobId, ctx.attempt, Date.now()).run();
    }
    for (let i = 1; i <= params.logLines; i++) ctx.log("Info", `echo line ${i}`, undefined, "echo");
    if (params.progressSteps > 0) {
      for (let step = 1; step <= params.progressSteps; step++) {
        await sleep(params.sleepMs / params.progressSteps, ctx.signal);
        ctx.progress((100 * step) / params.progressSteps, `step ${step} of ${params.progressSteps}`);
      }
    } else if (params.sleepMs > 0) await sleep(params.sleepMs, params.ignoreSignal ? new AbortController().signal : ctx.signal);
    if (params.fail || ctx.retryCount < params.failTimes) {
      throw new Error(`echo failed on request (attempt ${ctx.attempt})`);
    }
    return { echo: params.message ?? null, attempt: ctx.attempt };
  },
});

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}
