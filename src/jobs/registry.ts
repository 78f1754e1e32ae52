import { z } from "zod";
import { echoJob } from "./echo";
import { wordCountJob } from "./examples/word-count";
import { httpJob } from "./http";
import type { JobType } from "./job-type";
import { reportJob } from "./report";

/** Every job type the engine can run, by the `type` name clients send. Add yours here. */
const JOB_TYPES: JobType<any>[] = [httpJob, echoJob, wordCountJob, reportJob];

const byName = new Map(JOB_TYPES.map((t) => [t.name, t]));

export function getJobType(name: string): JobType | undefined {
  return byName.get(name);
}

export function jobTypeNames(): string[] {
  return [...byName.keys()];
}

export type JobTypeInfo = {
  name: string;
  kind: "built-in" | "package" | "service-binding";
  description: string;
  /** JSON Schema of the parameters a client sends. */
  parameters: object;
  timeoutSeconds: number;
};

/** The code-defined job types with their parameter schemas, for clients that build forms from them. */
export function listJobTypes(): JobTypeInfo[] {
  return JOB_TYPES.map((t) => ({
    name: t.name,
    kind: "built-in",
    description: t.description,
    parameters: z.toJSONSchema(t.parameters, { io: "input", unrepresentable: "any" }),
    timeoutSeconds: t.timeoutMs / 1000,
  }));
}
