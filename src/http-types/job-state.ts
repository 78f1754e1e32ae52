import { getJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { findLiveJobs } from "../scheduler/client";

/** A job as it is now: from its queue's scheduler while it is live, else its archived row. */
export async function currentJob(env: Env, id: string): Promise<JobRow | null> {
  const live = await findLiveJobs(env, [id]);
  return live.get(id)?.job ?? (await getJob(env, id)) ?? null;
}
