import { Hono } from "hono";
import { listRecurringJobs } from "../db/recurring-jobs";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { notFound } from "../http/errors";
import { limitsFor } from "../services/usage-limits";
import { readJson, readQuery } from "../http/validate";
import { toJobSummary } from "../model/job";
import { ListRecurringJobsQuery, RecurringJobPatchSchema, RecurringJobRequestSchema, toRecurringJob, toRecurringJobDetails } from "../model/recurring";
import {
  createRecurringJob,
  deleteRecurringJob,
  getRecurringJobDetails,
  setRecurringEnabled,
  triggerRecurringJob,
  updateRecurringJob,
  upcomingRuns,
} from "../recurring/service";

/** Mounted at /jobs/recurring, ahead of the /jobs router so its `/:id` routes never see "recurring". */
export const recurringApi = new Hono<AppEnv>()
  .post("/", requireScope("tickerq:write"), async (c) => {
    const request = await readJson(c, RecurringJobRequestSchema);
    const def = await createRecurringJob(c.env, request, limitsFor(c.env, c.get("principal")));
    return c.json(toRecurringJobDetails(def, undefined, upcomingRuns(def)), 201);
  })
  .get("/", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, ListRecurringJobsQuery);
    const { rows, totalCount } = await listRecurringJobs(c.env, { enabled: q.enabled, type: q.type, queue: q.queue }, { limit: q.limit, offset: q.offset });
    return c.json({ recurringJobs: rows.map(toRecurringJob), totalCount, hasMore: q.offset + rows.length < totalCount });
  })
  .get("/:id", requireScope("tickerq:read"), async (c) => {
    const found = await getRecurringJobDetails(c.env, c.req.param("id"));
    if (!found) throw notFound("Recurring job");
    return c.json(toRecurringJobDetails(found.def, found.lastRun, found.nextRuns));
  })
  .patch("/:id", requireScope("tickerq:write"), async (c) => {
    const patch = await readJson(c, RecurringJobPatchSchema);
    const def = await updateRecurringJob(c.env, c.req.param("id"), patch, limitsFor(c.env, c.get("principal")));
    return c.json(toRecurringJob(def));
  })
  .delete("/:id", requireScope("tickerq:write"), async (c) => {
    await deleteRecurringJob(c.env, c.req.param("id"));
    return c.body(null, 204);
  })
  .post("/:id/trigger", requireScope("tickerq:write"), async (c) => {
    const job = await triggerRecurringJob(c.env, c.req.param("id"));
    return c.json(toJobSummary(job), 201);
  })
  .post("/:id/enable", requireScope("tickerq:write"), async (c) => {
    return c.json(toRecurringJob(await setRecurringEnabled(c.env, c.req.param("id"), true)));
  })
  .post("/:id/disable", requireScope("tickerq:write"), async (c) => {
    return c.json(toRecurringJob(await setRecurringEnabled(c.env, c.req.param("id"), false)));
  });
