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
