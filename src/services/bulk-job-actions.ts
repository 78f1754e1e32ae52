import { and, count, desc, eq, inArray, or, type SQL } from "drizzle-orm";
import { getDb } from "../db/client";
import { jobFilterSql } from "../db/jobs";
import { jobs } from "../db/schema";
import { ApiError } from "../http/errors";
import { BULK_JOB_LIMIT, type BulkAction, type BulkJobsRequest, type BulkResult } from "../model/job-bulk";
import { jobFilterOf } from "../model/job";
import { cancelJob, retryJob } from "./job-actions";


/** Retry or cancel the given jobs, or the jobs matching the list filters, one job at a time through the single-job actions. */
export async function runBulkJobAction(env: Env, req: BulkJobsRequest): Promise<BulkResult> {
  const where = and(
    eligibleFor(req.action),
    req.ids ? inArray(jobs.id, req.ids) : jobFilterSql(jobFilterOf(req.filter ?? {})),
  );
  const db = getDb(env);
  const [total] = await db.select({ n: count() }).from(jobs).where(where);
  const matched = total?.n ?? 0;
  if (req.dryRun) return { action: req.action, dryRun: true, matched, succeeded: 0, skipped: 0, hasMore: false };

  const ids = (await db.select({ id: jobs.id }).from(jobs).where(where).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(BULK_JOB_LIMIT)).map((r) => r.id);
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

/** Jobs the action can still change: a running job whose cancel is already requested counts as done, so a repeated call ends. */
function eligibleFor(action: BulkAction): SQL | undefined {
  return action === "retry"
    ? inArray(jobs.status, ["failed", "cancelled"])
    : or(eq(jobs.status, "pending"), and(eq(jobs.status, "running"), eq(jobs.cancelRequested, 0)));
}
