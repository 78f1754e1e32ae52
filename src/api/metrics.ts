import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { resolvePeriod } from "../http/period";
import { readQuery } from "../http/validate";
import { jobTypeReport } from "../metrics/job-types";
import { performanceReport } from "../metrics/performance";
import { systemMetrics } from "../metrics/system";
import { JobTypesQuery, MAX_HOURLY_DAYS, MAX_PERIOD_DAYS, PerformanceQuery } from "../model/metrics";

/** Seed "Metrics and Analytics API": system overview with health, performance over a period, job types. */
export const metricsApi = new Hono<AppEnv>()
  .get("/system", requireScope("tickerq:read"), async (c) => {
    const colo = c.req.raw.cf?.colo;
    return c.json(await systemMetrics(c.env, Date.now(), typeof colo === "string" ? colo : null));
  })
  .get("/performance", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, PerformanceQuery);
    const period = resolvePeriod(q, { now: Date.now(), defaultDays: 7, maxDays: q.granularity === "hour" ? MAX_HOURLY_DAYS : MAX_PERIOD_DAYS });
    return c.json(await performanceReport(c.env, { ...period, granularity: q.granularity, queue: q.queue, type: q.type }));
  })
  .get("/job-types", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, JobTypesQuery);
    const period = q.from || q.to ? resolvePeriod(q, { now: Date.now(), defaultDays: MAX_PERIOD_DAYS, maxDays: MAX_PERIOD_DAYS }) : {};
    return c.json(await jobTypeReport(c.env, { ...period, queue: q.queue, type: q.type }));
  });
