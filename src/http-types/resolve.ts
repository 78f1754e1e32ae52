import { z } from "zod";
import type { Settings } from "../config";
import type { NewJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { formatPath, type ErrorDetail } from "../http/errors";
import { defineJobType, type JobType } from "../jobs/job-type";
import { getJobType } from "../jobs/registry";
import { checkParameters } from "./json-schema";
import { runHttpServiceJob } from "./runner";
import { definitionStatements, getDefinition, getHttpJobTypes, httpJobTypeNames, type HttpJobDefinition } from "./store";
import type { HttpJobTypeRow } from "./model";

/** A registered HTTP job type as job creation needs it. */
export type RegisteredHttpType = {
  /** The type's own defaults; they come before the queue's (a code type's come after). */
  timeoutMs: number;
  maxRetries: number;
  check(parameters: unknown, settings: Settings, path: (string | number)[]): ErrorDetail[];
  /** The copy of the type's definition the job keeps, whatever later happens to the type. */
  definition(jobId: string): HttpJobDefinition;
};

export type RegisteredTypes = {
  get(name: string): RegisteredHttpType | undefined;
  /** Every registered name, for the message of an unknown type (empty when every name was known). */
  names: string[];
  /** Statements storing the definitions of the given new jobs, for their insert transaction. */
  statements(env: Env, jobs: Pick<NewJob, "id" | "type">[]): D1PreparedStatement[];
};

/** Looks up the registered HTTP job types among `names`; one read, and none when all are code types. */
export async function resolveRegisteredTypes(env: Env, names: string[]): Promise<RegisteredTypes> {
  const wanted = [...new Set(names.filter((n) => !getJobType(n)))];
  const rows = await getHttpJobTypes(env, wanted);
  const byName = new Map(rows.map((r) => [r.name, registered(r)]));
  const unknown = wanted.some((n) => !byName.has(n));
  return {
    get: (name) => byName.get(name),
    names: unknown ? await httpJobTypeNames(env) : [],
    statements: (env, jobs) =>
      definitionStatements(
        env,
        jobs.flatMap((j) => {
          const type = byName.get(j.type);
          return type ? [type.definition(j.id)] : [];
        }),
      ),
  };
}

function registered(row: HttpJobTypeRow): RegisteredHttpType {
  return {
    timeoutMs: row.timeout_ms,
    maxRetries: row.max_retries,
    check(parameters, _settings, path) {
      return row.parameters_schema ? checkParameters(row.parameters_schema, parameters, formatPath([...path, "parameters"])) : [];
    },
    definition: (jobId) => ({ jobId, typeName: row.name, url: row.url, callbackTimeoutMs: row.callback_timeout_ms, credentials: row.credentials }),
  };
}

const AnyObject = z.record(z.string(), z.unknown());

/** The handler of a job whose type is not in code: its stored HTTP definition, if it has one. */
export async function registeredJobTypeFor(env: Env, job: JobRow): Promise<JobType | undefined> {
  const definition = await getDefinition(env, job.id);
  if (!definition) return undefined;
  return defineJobType({
    name: job.type,
    description: `Delivered to ${definition.url}`,
    parameters: AnyObject,
    timeoutMs: job.timeoutMs ?? 30_000,
    run: (params, ctx) => runHttpServiceJob(definition, job, params, ctx),
  });
}
