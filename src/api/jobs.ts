import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { notFound } from "../http/errors";
import { parseWith, readJson, readQuery } from "../http/validate";
import { MAX_BATCH_BODY_BYTES } from "../config";
import { BatchRequestSchema, ExecuteRequestSchema, JobRequestSchema, jobFilterOf, ListJobsQuery, RetryRequestSchema, toJobSummary, toLogLine } from "../model/job";
import { toJobDetails } from "../model/job-details";
import { createJobs } from "../services/create-jobs";
import { limitsFor } from "../services/usage-limits";
import { cancelJob, executeJob, retryJob } from "../services/job-actions";
import { getJobAndLogs, getJobWithAttempts, listJobs } from "../services/job-reads";
import { CronJobRequestSchema, toRecurringJobDetails } from "../model/recurring";
import { createRecurringJob, upcomingRuns } from "../recurring/service";

const IdempotencyKeyHeader = z.string().min(1).max(255).optional();

export const jobsApi = new Hono<AppEnv>()
  .post("/", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, z.unknown());
    if (isCronRequest(body)) {
      const def = await createRecurringJob(c.env, parseWith(CronJobRequestSchema, body), limitsFor(c.env, c.get("principal")));
      return c.json(toRecurringJobDetails(def, undefined, upcomingRuns(def)), 201);
    }
    const request = parseWith(JobRequestSchema, body);
    const key = IdempotencyKeyHeader.safeParse(c.req.header("idempotency-key"));
    const [created] = await createJobs(c.env, c.get("principal").id, [{ request, idempotencyKey: key.success ? key.data : undefined }], () => [], {
      limits: limitsFor(c.env, c.get("principal")),
    });
    if (created.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(toJobSummary(created.job), 201);
  })
  .post("/batch", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, BatchRequestSchema, { maxBytes: MAX_BATCH_BODY_BYTES });
    const created = await createJobs(
      c.env,
      c.get("principal").id,
      body.jobs.map(({ idempotencyKey, ...request }) => ({ request, idempotencyKey })),
      (i) => ["jobs", i],
      { limits: limitsFor(c.env, c.get("principal")) },
    );
    return c.json({ jobs: created.map((x) => toJobSummary(x.job)), count: created.length }, 201);
  })
  .get("/", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, ListJobsQuery);
    const { rows, totalCount } = await listJobs(
      c.env,
      jobFilterOf(q),
      { limit: q.limit, offset: q.offset },
    );
    return c.json({ jobs: rows.map(toJobSummary), totalCount, hasMore: q.offset + rows.length < totalCount });
  })
  .get("/:id", requireScope("tickerq:read"), async (c) => {
    const found = await getJobWithAttempts(c.env, c.req.param("id"));
    if (!found) throw notFound("Job");
    return c.json(toJobDetails(found.job, found.attempts));
  })
  .get("/:id/logs", requireScope("tickerq:read"), async (c) => {
    const id = c.req.param("id");
    const found = await getJobAndLogs(c.env, id);
    if (!found) throw notFound("Job");
    return c.json({ jobId: id, logs: found.logs.map(toLogLine) });
  })
  .post("/:id/execute", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, ExecuteRequestSchema, { optional: true });
    const job = await executeJob(c.env, c.req.param("id"), { priority: body.priority, delayMs: body.delay });
    return c.json(toJobSummary(job), 202);
  })
  .post("/:id/cancel", requireScope("tickerq:write"), async (c) => {
    const { job, immediate } = await cancelJob(c.env, c.req.param("id"));
    return c.json({ ...toJobSummary(job), cancelRequested: !immediate }, immediate ? 200 : 202);
  })
  .post("/:id/retry", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, RetryRequestSchema, { optional: true });
    const job = await retryJob(c.env, c.req.param("id"), body.resetRetryCount);
    return c.json(toJobSummary(job), 202);
  });

/** POST /jobs with a non-null cronExpression creates a recurring job, as POST /jobs/recurring does. */
function isCronRequest(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) && (body as Record<string, unknown>).cronExpression != null;
}
