import { WorkerEntrypoint } from "cloudflare:workers";
import type { LogLevel } from "./jobs/job-type";
import type { ServiceJobContext } from "./jobs/service-binding";

export type { LogLevel } from "./jobs/job-type";
export type { ServiceJobContext } from "./jobs/service-binding";

/** What a job handler on a bound Worker gets: the job, a real AbortSignal, and logs and progress that flow back. */
export interface ServiceJob<P = unknown> {
  type: string;
  params: P;
  id: string;
  attempt: number;
  retryCount: number;
  /** Aborts when the job is cancelled or its attempt times out on the Edge Ticker side. */
  signal: AbortSignal;
  log(level: LogLevel, message: string, details?: string, stepName?: string): void;
  progress(percent: number, message?: string): void;
}

/**
 * Base class for the entrypoint of a Worker that runs Edge Ticker jobs over a service binding.
 * Implement `run(job)`; its return value is the job's result, a throw fails the attempt (retried as usual).
 * Edge Ticker calls `runJob(type, params, ctx)` over RPC; a Worker may implement that method itself instead.
 */
export abstract class JobServiceEntrypoint<Env = unknown> extends WorkerEntrypoint<Env> {
  abstract run(job: ServiceJob): Promise<unknown>;

  async runJob(type: string, params: unknown, ctx: ServiceJobContext): Promise<unknown> {
    const controller = new AbortController();
    // Calls back over RPC run in the background; they are awaited before the result so none is lost.
    const pending: Promise<unknown>[] = [];
    const send = (call: Promise<unknown>) => void pending.push(Promise.resolve(call).catch(() => {}));
    send(ctx.onCancel((reason: string) => controller.abort(new Error(reason))) as unknown as Promise<unknown>);
    const info = await ctx.job();
    try {
      return await this.run({
        type,
        params,
        id: info.id,
        attempt: info.attempt,
        retryCount: info.retryCount,
        signal: controller.signal,
        log: (level, message, details, stepName) => send(ctx.log(level, message, details, stepName) as unknown as Promise<unknown>),
        progress: (percent, message) => send(ctx.progress(percent, message) as unknown as Promise<unknown>),
      });
    } finally {
      await Promise.all(pending);
    }
  }
}
