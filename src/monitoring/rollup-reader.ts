import { z } from "zod";
import { HourRollupSchema, MinuteRollupSchema, type HourRollup, type MinuteRollup, type RollupBucket } from "./rollup-data";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const BUCKET_MS: Record<RollupBucket, number> = { minute: MINUTE_MS, hour: HOUR_MS };

const RowSchema = z.object({ bucket_start: z.number().int(), data: z.string() });

export type RollupRow<T> = { bucketStart: number; data: T };

/** Rows per D1 query: an hour of minute rows or a day of hour rows per shard, so a page stays a few MB at most. */
const SLICE_MS: Record<RollupBucket, number> = { minute: HOUR_MS, hour: DAY_MS };

const parseData = { minute: (s: string) => MinuteRollupSchema.parse(JSON.parse(s)), hour: (s: string) => HourRollupSchema.parse(JSON.parse(s)) };

/**
 * The packed rollup rows of one bucket whose start is in [from, to), oldest first, a slice of time
 * per query (pages are read only as they are consumed). An endpoint filter keeps only that
 * endpoint's entry of each row; the rest of the row is never kept.
 */
async function* rollupPages<T extends MinuteRollup | HourRollup>(env: Env, bucket: RollupBucket, from: number, to: number, endpointId?: string): AsyncGenerator<RollupRow<T>[]> {
  const size = BUCKET_MS[bucket];
  const start = Math.floor(from / size) * size;
  for (let sliceFrom = start; sliceFrom < to; sliceFrom += SLICE_MS[bucket]) {
    const sliceTo = Math.min(to, sliceFrom + SLICE_MS[bucket]);
    // With an endpoint filter D1 returns only that endpoint's entry of each row, not the whole shard's.
    const data = endpointId === undefined ? "data" : `CASE WHEN json_type(data, ?4) IS NULL THEN '{}' ELSE json_object(?5, json_extract(data, ?4)) END`;
    const { results } = await env.DB.prepare(
      `SELECT bucket_start, ${data} AS data FROM endpoint_rollups WHERE bucket = ?1 AND bucket_start >= ?2 AND bucket_start < ?3 ORDER BY bucket_start, shard`,
    )
      .bind(bucket, sliceFrom, sliceTo, ...(endpointId === undefined ? [] : [jsonPathOf(endpointId), endpointId]))
      .all();
    const rows = results.map((raw) => {
      const row = RowSchema.parse(raw);
      return { bucketStart: row.bucket_start, data: parseData[bucket](row.data) as T };
    });
    if (rows.length) yield rows;
  }
}

/** The JSON path of one key of the packed object; a quote or backslash in it is escaped as JSON escapes it. */
const jsonPathOf = (key: string) => `$.${JSON.stringify(key)}`;

export const minuteRows = (env: Env, from: number, to: number, endpointId?: string) => rollupPages<MinuteRollup>(env, "minute", from, to, endpointId);
export const hourRows = (env: Env, from: number, to: number, endpointId?: string) => rollupPages<HourRollup>(env, "hour", from, to, endpointId);
