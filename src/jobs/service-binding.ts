import { RpcTarget } from "cloudflare:workers";
import type { z } from "zod";
import { PermanentJobError, type JobContext, type JobType, type LogLevel } from "./job-type";
import { checkName, checkTimeout, NoParameters } from "./own-types";

/** A job type whose handler runs on another Worker, reached through a service binding and Workers RPC. */
export type ServiceJobTypeConfig = {
  /** Name of the service binding (in wrangler.toml `[[services]]`) to the Worker that runs the jobs. */
  binding: string;
  /** Validated when the job is created; no parameters when absent. */
  parameters?: z.ZodType;
  timeoutSeconds?: number;
  description?: string;
};

/** The method the bound Worker's entrypoint exposes (see `JobServiceEntrypoint`). */
export type JobService = { runJob(type: string, params: unknown, ctx: ServiceJobContext): Promise<unknown> };

const LOG_LEVELS: readonly LogLevel[] = ["Debug", "Info", "Warning", "Error"];

/**
 * The context a remote handler gets. Workers RPC cannot pass an AbortSignal, so the handler asks
 * `isCancelled()` or registers `onCancel(callback)`; log lines and progress come back through it.
 */
export class ServiceJobContext extends RpcTarget {
  readonly #ctx: JobContext;
  #callbacks: ((reason: string) => unknown)[] = [];

  constructor(ctx: JobContext) {
    super();
    this.#ctx = ctx;
    ctx.signal.addEventListener("abort", () => {
      for (const callback of this.#callbacks) Promise.resolve(callback(reasonOf(ctx.signal))).catch(() => {});
    });
  }

  job(): { id: string; attempt: number; retryCount: number } {
    return { id: this.#ctx.jobId, attempt: this.#ctx.attempt, retryCount: this.#ctx.retryCount };
  }

  log(level: LogLevel, message: string, details?: string, stepName?: string): void {
    this.#ctx.log(LOG_LEVELS.includes(level) ? level : "Info", String(message), details == null ? undefined : String(details), stepName == null ? undefined : String(stepName));
  }

  progress(percent: number, message?: string): void {
    this.#ctx.progress(Number(percent), message == null ? undefined : String(message));
  }

  /** True once the job was cancelled or its attempt timed out. */
  isCancelled(): boolean {
    return this.#ctx.signal.aborted;
  }

  /** Calls `callback(reason)` when the job is cancelled or its attempt times out (at once if it already was). */
  onCancel(callback: (reason: string) => unknown): void {
    // A stub received as an argument is released when this call returns; keep a copy for later.
    const kept = (callback as unknown as { dup?: () => typeof callback }).dup?.() ?? callback;
    if (this.#ctx.signal.aborted) Promise.resolve(kept(reasonOf(this.#ctx.signal))).catch(() => {});
    else this.#callbacks.push(kept);
  }

  release(): void {
    for (const callback of this.#callbacks) (callback as unknown as Partial<Disposable>)[Symbol.dispose]?.();
    this.#callbacks = [];
  }
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : "Cancelled.";
}

export function serviceBindingJobType(name: string, config: ServiceJobTypeConfig): JobType {
  if (!config || typeof config.binding !== "string" || !config.binding) throw new Error(`Service job type "${name}" needs a binding name.`);
  return {
    name: checkName(name),
    description: config.description ?? `Runs on the Worker bound as ${config.binding}.`,
    parameters: config.parameters ?? NoParameters,
    timeoutMs: checkTimeout(name, config.timeoutSeconds) * 1000,
    async run(params, ctx) {
      const service = (ctx.env as unknown as Record<string, JobService | undefined>)[config.binding];
      if (!service) throw new PermanentJobError(`Job type "${name}" runs on the service binding "${config.binding}", which this Worker does not have.`);
      const remote = new ServiceJobContext(ctx);
      try {
        return await service.runJob(name, params, remote);
      } finally {
        remote.release();
      }
    },
  };
}
