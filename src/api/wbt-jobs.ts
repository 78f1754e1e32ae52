import { Hono } from "hono";
import { getRecord, insertRecordStatement, latestJobIdForBusiness } from "../compat/wbt-store";
import { mapWbtRequest, maskWbtConfiguration, toWbtJob, WbtCreateSchema, wbtJobId } from "../compat/wbt-model";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { readJson } from "../http/validate";
import { iso } from "../lib/time";
import { JobRequestSchema } from "../model/job";
import { parseWith } from "../http/validate";
import { createJobs } from "../services/create-jobs";
import { limitsFor } from "../services/usage-limits";
import { cancelJob } from "../services/job-actions";
import { getJob, getJobAndLogs } from "../services/job-reads";

/** The WbtWebJob (Hangfire-style) API at /api/jobs: the same jobs as /api/tickerq, in that service's shapes. */
export const wbtJobsApi = new Hono<AppEnv>()
  .post("/", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, WbtCreateSchema);
    const mapped = mapWbtRequest(body);
    if ("message" in mapped) throw new ApiError(400, "validation_error", `Invalid request: ${mapped.path}: ${mapped.message}`, [mapped]);
    // The credentials are kept (encrypted) in the job's parameters only; the record keeps them masked.
    const record = { businessId: body.businessId, jobType: body.jobType, description: body.description ?? null, configuration: maskWbtConfiguration(body) };
    const create = async () => {
      const request = parseWith(JobRequestSchema, { type: mapped.type, name: body.name, parameters: mapped.parameters });
      return createJobs(c.env, c.get("principal").id, [{ request, id: wbtJobId(body.jobType, Date.now()) }], () => [], {
        limits: limitsFor(c.env, c.get("principal")),
        extraStatements: (jobs) => jobs.map((job) => insertRecordStatement(c.env, job, record)),
      });
    };
    const [created] = await create().catch((err) => {
      throw err instanceof ApiError && err.details ? inConfigurationTerms(err) : err;
    });
    return c.json(toWbtJob(created.job, record), 201);
  })
  .get("/business/:businessId", requireScope("tickerq:read"), async (c) => {
    const found = await latestJobIdForBusiness(c.env, c.req.param("businessId"));
    const job = found && (await getJob(c.env, found.jobId));
    if (!found || !job) throw notFound("Job");
    return c.json(toWbtJob(job, found.record));
  })
  .get("/:jobId", requireScope("tickerq:read"), async (c) => {
    const id = c.req.param("jobId");
    const [job, record] = await Promise.all([getJob(c.env, id), getRecord(c.env, id)]);
    if (!job) throw notFound("Job");
    return c.json(toWbtJob(job, record));
  })
  .get("/:jobId/logs", requireScope("tickerq:read"), async (c) => {
    const id = c.req.param("jobId");
    const found = await getJobAndLogs(c.env, id);
    if (!found) throw notFound("Job");
    return c.json(
      found.logs.map((l) => ({ id: `log_${String(l.id).padStart(3, "0")}`, jobId: l.jobId, level: l.level, message: l.message, details: l.details, stepName: l.stepName, createdAt: iso(l.createdAt) })),
    );
  })
  .post("/:jobId/cancel", requireScope("tickerq:write"), async (c) => {
    const id = c.req.param("jobId");
    const { immediate } = await cancelJob(c.env, id);
    return c.json({ message: immediate ? "Job cancelled successfully" : "Cancellation requested; the running attempt is being stopped", jobId: id });
  });

/** Errors of the mapped job type are reported against the configuration the client sent. */
function inConfigurationTerms(err: ApiError): ApiError {
  const details = err.details!.map((d) => ({ ...d, path: d.path === "type" ? "configuration.handler" : d.path.replace(/^parameters\b/, "configuration") }));
  return new ApiError(err.status, err.code, `Invalid request: ${details[0].path}: ${details[0].message}`, details);
}
