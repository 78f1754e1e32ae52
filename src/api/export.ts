import { Hono } from "hono";
import { historyPages, HISTORY_COLUMNS } from "../export/history-export";
import { jobPages, JOB_COLUMNS, r2HistoryPages } from "../export/jobs-export";
import { exportResponse, exportStream } from "../export/stream";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { resolvePeriod } from "../http/period";
import { readQuery } from "../http/validate";
import { hourRange } from "../metrics/rollups";
import { jobFilterOf } from "../model/job";
import { ExportArchiveQuery, ExportHistoryQuery, ExportJobsQuery, MAX_PERIOD_DAYS } from "../model/metrics";
import { ApiError } from "../http/errors";

/** Seed 002 "API-Driven Exports": streamed CSV / JSON / NDJSON, read from D1 a page at a time. */
export const exportApi = new Hono<AppEnv>()
  .get("/jobs", requireScope("tickerq:read"), (c) => {
    const q = readQuery(c, ExportJobsQuery);
    return exportResponse(exportStream(jobPages(c.env, jobFilterOf(q), q.limit), q.format, JOB_COLUMNS), q.format, "jobs");
  })
  // Jobs older than RETENTION_DAYS that retention moved to R2 (only with an ARCHIVE_BUCKET binding).
  .get("/archive", requireScope("tickerq:read"), (c) => {
    const q = readQuery(c, ExportArchiveQuery);
    const bucket = c.env.ARCHIVE_BUCKET;
    if (!bucket) throw new ApiError(503, "not_configured", "No ARCHIVE_BUCKET R2 binding: retention deletes expired jobs without keeping them in R2.");
    return exportResponse(exportStream(r2HistoryPages(bucket, q.queue, q.day), q.format, JOB_COLUMNS), q.format, `archive-${q.queue}-${q.day}`);
  })
  .get("/history", requireScope("tickerq:read"), (c) => {
    const q = readQuery(c, ExportHistoryQuery);
    const period = resolvePeriod(
      { from: q.startTime, to: q.endTime },
      { now: Date.now(), defaultDays: 30, maxDays: MAX_PERIOD_DAYS, names: ["startTime", "endTime"] },
    );
    const range = hourRange(period.from, period.to);
    return exportResponse(exportStream(historyPages(c.env, range, q.bucket, q), q.format, HISTORY_COLUMNS), q.format, `history-${q.bucket}`);
  });
