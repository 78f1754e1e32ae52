import { z } from "zod";
import type { JobType, JobTypeDefinition } from "./job-type";

/** Per-attempt time limit of a deployment's own type that does not set one. */
export const DEFAULT_TIMEOUT_SECONDS = 60;
/** The API's limit on a job's own `timeoutSeconds`, so a type's default can be overridden both ways. */
const MAX_TIMEOUT_SECONDS = 900;

export const NoParameters = z.strictObject({});

/** Types `run`'s parameters from the schema; returns the definition unchanged. */
export function defineJobType<S extends z.ZodType>(def: JobTypeDefinition<S>): JobTypeDefinition<S> {
  return def;
}

/** The engine's form of a type defined in a deployment's own code; throws on a definition that cannot work. */
export function ownJobType(name: string, def: JobTypeDefinition<any>): JobType {
  return {
    name: checkName(name),
    description: def.description ?? "",
    parameters: def.parameters ?? NoParameters,
    timeoutMs: checkTimeout(name, def.timeoutSeconds) * 1000,
    run: (params, ctx) => def.run(params, ctx),
  };
}

export function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(name)) {
    throw new Error(`Job type name "${name}" must be 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit.`);
  }
  return name;
}

export function checkTimeout(name: string, seconds = DEFAULT_TIMEOUT_SECONDS): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new Error(`Job type "${name}": timeoutSeconds must be a whole number from 1 to ${MAX_TIMEOUT_SECONDS}.`);
  }
  return seconds;
}
