import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAuth, requireScope } from "../http/auth";
import { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from "../metrics/prometheus";

/** Seed 000 "Prometheus Metrics": `/metrics` at the root, read with a bearer token (Prometheus' `authorization` setting). */
export const prometheusApi = new Hono<AppEnv>().get("/metrics", requireAuth, requireScope("tickerq:read"), async (c) => {
  return c.body(await prometheusMetrics(c.env, Date.now()), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
});
