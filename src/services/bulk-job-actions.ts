import type { JobRow } from "../db/schema";
import { ApiError } from "../http/errors";
import { BULK_JOB_LIMIT, type BulkAction, type BulkJobsRequest, type BulkResult } from "../model/job-bulk";
import { jobFilterOf } from "../model/job";
import { cancelJob, retryJob } from "./job-actions";
import { newestFirst } from "../model/job";
import { getJobs, listJobsInStatuses } from "./job-reads";

/** Retry or cancel the given jobs, or the jobs matching the list filters, one job at a time through the single-job actions. */
export async function runBulkJobAction(env: Env, req: BulkJobsRequest): Promise<BulkResult> {
  const { matched, ids } = req.ids ? await selectedByIds(env, req.action, req.ids) : await selectedByFilter(env, req.action, req.filter ?? {});
  if (req.dryRun) return { action: req.action, dryRun: true, matched, succeeded: 0, skipped: 0, hasMore: false };

  let succeeded = 0;
  let skipped = 0;
  for (const id of ids) {
    try {
      if (req.action === "cancel") await cancelJob(env, id);
      else await retryJob(env, id, false);
      succeeded++;
    } catch (err) {
      // The job changed state (or was deleted) since it was selected: nothing to do for it.
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) skipped++;
      else throw err;
    }
  }
  return { action: req.action, dryRun: false, matched, succeeded, skipped, hasMore: matched > ids.length };
}

async function selectedByIds(env: Env, action: BulkAction, ids: string[]) {
  const eligible = (await getJobs(env, ids)).filter((j) => eligibleFor(action, j)).sort(newestFirst);
  return { matched: eligible.length, ids: eligible.slice(0, BULK_JOB_LIMIT).map((j) => j.id) };
}

/**
 * Retry applies to failed and cancelled jobs; cancel to pending ones and to running ones whose
 * cancel is not requested yet. Running jobs are few (at most the queues' workers), so they are
 * read whole and filtered here.
 */
async function selectedByFilter(env: Env, action: BulkAction, filter: NonNullable<BulkJobsRequest["filter"]>) {
  const f = jobFilterOf(filter);
  if (action === "retry") {
    const page = await listJobsInStatuses(env, f, ["failed", "cancelled"], BULK_JOB_LIMIT);
    return { matched: page.totalCount, ids: page.rows.map((j) => j.id) };
  }
  const [pending, running] = await Promise.all([
    listJobsInStatuses(env, f, ["pending"], BULK_JOB_LIMIT),
    listJobsInStatuses(env, f, ["running"], MAX_RUNNING_READ),
  ]);
  const stoppable = running.rows.filter((j) => eligibleFor(action, j));
  const rows = [...pending.rows, ...stoppable].sort(newestFirst).slice(0, BULK_JOB_LIMIT);
  return { matched: pending.totalCount + stoppable.length, ids: rows.map((j) => j.id) };
}

/** Running jobs read for a bulk cancel (the `list` bound per queue). */
const MAX_RUNNING_READ = 10_000;

/** Jobs the action can still change: a running job whose cancel is already requested counts as done, so a repeated call ends. */
function eligibleFor(action: BulkAction, job: JobRow): boolean {
  if (action === "retry") return job.status === "failed" || job.status === "cancelled";
  return job.status === "pending" || (job.status === "running" && job.cancelRequested === 0);
}
