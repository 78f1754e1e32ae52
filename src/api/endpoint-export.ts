import { Hono } from "hono";
import { z } from "zod";
import { exportResponse, exportStream } from "../export/stream";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { resolvePeriod } from "../http/period";
import { readQuery } from "../http/validate";
import { EXPORT_FORMATS, MAX_PERIOD_DAYS } from "../model/metrics";
import { listEndpoints } from "../monitoring/endpoint-directory";
import { EndpointIdSchema } from "../monitoring/grafana-model";
import { ENDPOINT_HISTORY_COLUMNS, endpointHistoryPages, HISTORY_BUCKETS } from "../monitoring/history-export";

const DateOrInstant = z.iso.datetime({ offset: true }).or(z.iso.date());

/** Raw checks are kept for a bounded time, and a raw export is one row per check: its period is short. */
export const MAX_RAW_EXPORT_DAYS = 7;

export const EndpointHistoryExportQuery = z.strictObject({
  format: z.enum(EXPORT_FORMATS).default("csv"),
  bucket: z.enum(HISTORY_BUCKETS).default("daily").describe("raw: each check (minute rollups); hourly: hour rollups; daily: hour rollups summed per UTC day"),
  startTime: DateOrInstant.optional().describe("default: 30 days (raw: 1 day) before endTime"),
  endTime: DateOrInstant.optional().describe("default: now; a bare date means the end of that day"),
  endpointId: EndpointIdSchema.optional().describe("only this endpoint"),
});

/** Seed 002's GET /api/export/history: endpoint check history as streamed CSV, JSON or NDJSON. */
export const endpointExportApi = new Hono<AppEnv>().get("/history", requireScope("tickerq:read"), async (c) => {
  const q = readQuery(c, EndpointHistoryExportQuery);
  const raw = q.bucket === "raw";
  const period = resolvePeriod(
    { from: q.startTime, to: q.endTime },
    { now: Date.now(), defaultDays: raw ? 1 : 30, maxDays: raw ? MAX_RAW_EXPORT_DAYS : MAX_PERIOD_DAYS, names: ["startTime", "endTime"] },
  );
  const endpoints = new Map((await listEndpoints(c.env)).map((e) => [e.id, e]));
  const pages = endpointHistoryPages(c.env, { ...period, bucket: q.bucket, endpointId: q.endpointId, endpoints });
  return exportResponse(exportStream(pages, q.format, ENDPOINT_HISTORY_COLUMNS), q.format, `endpoint-history-${q.bucket}`);
});
