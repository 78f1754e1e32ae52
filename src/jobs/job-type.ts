import type { z } from "zod";
import type { Settings } from "../config";
import type { ErrorDetail } from "../http/errors";

export type LogLevel = "Debug" | "Info" | "Warning" | "Error";

export interface JobContext {
  jobId: string;
  /** 1-based number of this attempt over the job's whole life. */
  attempt: number;
  /** How many retries of the current run came before this attempt. */
  retryCount: number;
  /** When the job was created (epoch ms). */
  createdAt: number;
  /** Aborts when the job is cancelled or its timeout passes. */
  signal: AbortSignal;
  log(level: LogLevel, message: string, details?: string, stepName?: string): void;
  progress(percent: number, message?: string): void;
  env: Env;
  settings: Settings;
  /** Work the attempt waits for before it ends, even when it ends by cancel or timeout. */
  keepAlive?(work: Promise<unknown>): void;
}

export interface JobType<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  parameters: S;
  /** Shipped with Edge Ticker (as opposed to a team's own type); the WbtWebJob API reports these as BuiltIn. */
  builtIn?: boolean;
  /** Per-attempt time limit unless the job sets its own. */
  timeoutMs: number;
  /** Extra checks that need deployment settings (e.g. the SSRF guard), run at creation. */
  check?(params: z.output<S>, settings: Settings): ErrorDetail[];
  /**
   * Where the credentials are in the raw (unvalidated or stored) parameters: those values are
   * stored encrypted, shown as "***" everywhere and decrypted only for `run`.
   */
  secretPaths?(parameters: Record<string, unknown>): string[][];
  run(params: z.output<S>, ctx: JobContext): Promise<unknown>;
}

export function defineJobType<S extends z.ZodType>(def: JobType<S>): JobType<S> {
  return def;
}

/**
 * Returned by a handler whose attempt goes on outside this Worker (a service that answered 202):
 * the attempt stays running and is ended later by someone else (the service's callback, a cancel,
 * or the lease's expiry).
 */
export const HANDED_OFF = Symbol("handed-off");

/** The reason an attempt's signal aborts when its job's cancel was requested. */
export class CancelledError extends Error {}

/** Thrown by a handler for a failure that must not be retried. */
export class PermanentJobError extends Error {}

/** A job type as a deployment defines it in its own code; its name is its key in `createEdgeTicker({ jobTypes })`. */
export interface JobTypeDefinition<S extends z.ZodType = z.ZodType> {
  description?: string;
  /** Validated when the job is created (400 naming the field, nothing stored); no parameters when absent. */
  parameters?: S;
  /** Per-attempt time limit unless the job or its queue sets one (default 60). */
  timeoutSeconds?: number;
  run(params: z.output<S>, ctx: JobContext): Promise<unknown>;
}
