import { z } from "zod";
import { echoJob } from "./echo";
import { httpJob } from "./http";
import type { JobType } from "./job-type";
import { reportJob } from "./report";

export type JobTypeKind = "built-in" | "package" | "service-binding";

/** A job type whose code runs in a Worker, as GET /job-types shows it. */
export const CodeJobTypeSchema = z.object({
  name: z.string(),
  kind: z.enum(["built-in", "package", "service-binding"]),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()).describe("JSON Schema of the parameters a client sends"),
  timeoutSeconds: z.number(),
});

export type JobTypeInfo = {
  name: string;
  kind: JobTypeKind;
  description: string;
  /** JSON Schema of the parameters a client sends. */
  parameters: object;
  timeoutSeconds: number;
};

/** The types shipped with Edge Ticker; a deployment's own types are added by `installJobTypes`. */
const BUILT_IN: JobType<any>[] = [httpJob, echoJob, reportJob];

const byName = new Map<string, { type: JobType<any>; kind: JobTypeKind }>(BUILT_IN.map((t) => [t.name, { type: t, kind: "built-in" }]));

/**
 * Adds a deployment's own job types (one Worker installs its types once, at start-up). A name that is
 * built in or already taken is refused loudly: a type must never silently replace another.
 */
export function installJobTypes(types: { type: JobType<any>; kind: Exclude<JobTypeKind, "built-in"> }[]): void {
  const seen = new Set<string>();
  for (const { type } of types) {
    const taken = byName.get(type.name);
    if (taken?.kind === "built-in") throw new Error(`Job type "${type.name}" is built into Edge Ticker; give your type another name.`);
    if (seen.has(type.name)) throw new Error(`Job type "${type.name}" is defined twice (in jobTypes and serviceJobTypes); names must be unique.`);
    seen.add(type.name);
  }
  // Installing again (a second factory call in the same isolate, as tests do) replaces the previous own types.
  for (const [name, entry] of byName) if (entry.kind !== "built-in") byName.delete(name);
  for (const entry of types) byName.set(entry.type.name, entry);
}

export function getJobType(name: string): JobType | undefined {
  return byName.get(name)?.type;
}

export function jobTypeNames(): string[] {
  return [...byName.keys()];
}

/** Every code-defined type with its kind and parameter schema, for clients that build forms. */
export function listJobTypes(): JobTypeInfo[] {
  return [...byName.values()].map(({ type, kind }) => ({
    name: type.name,
    kind,
    description: type.description,
    parameters: z.toJSONSchema(type.parameters, { io: "input", unrepresentable: "any" }),
    timeoutSeconds: type.timeoutMs / 1000,
  }));
}
