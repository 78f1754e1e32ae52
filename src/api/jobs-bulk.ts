import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { readJson } from "../http/validate";
import { BulkJobsRequestSchema } from "../model/job-bulk";
import { runBulkJobAction } from "../services/bulk-job-actions";

/** POST /jobs/bulk: retry or cancel selected jobs, or every job matching the list filters. */
export const jobsBulkApi = new Hono<AppEnv>().post("/", requireScope("tickerq:write"), async (c) => {
  const body = await readJson(c, BulkJobsRequestSchema);
  return c.json(await runBulkJobAction(c.env, body));
});
