import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { jobFamilies, PROMETHEUS_CONTENT_TYPE, renderExposition } from "../metrics/prometheus";
import { listEndpoints } from "../monitoring/endpoint-directory";
import { endpointFamilies } from "../monitoring/prometheus";

/** Seed 002's GET /api/metrics: the job metrics of /metrics plus the `pulse_*` endpoint families. */
export const endpointMetricsApi = new Hono<AppEnv>().get("/", requireScope("tickerq:read"), async (c) => {
  const now = Date.now();
  const [jobs, endpoints] = await Promise.all([jobFamilies(c.env, now), listEndpoints(c.env)]);
  return c.body(renderExposition([...jobs, ...endpointFamilies(endpoints, now)]), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
});
