import { z } from "zod";

/**
 * The packed form of `endpoint_rollups.data`: one row per shard and bucket holds every endpoint of that
 * shard, keyed by endpoint id, so the cost of keeping history grows with shards and time, not with checks.
 * A row is written whole (INSERT OR REPLACE) by its shard's monitor, which makes a replayed flush harmless.
 */

/** Upper bounds (ms) of the response-time histogram buckets of hour rollups; the last count is above them all. */
export const RESPONSE_TIME_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export const ROLLUP_BUCKETS = ["minute", "hour"] as const;
export type RollupBucket = (typeof ROLLUP_BUCKETS)[number];

/** One check: when it started (epoch ms), whether it succeeded, its response time (ms, null when it failed), why it failed. */
export const PackedCheckSchema = z.tuple([z.number().int(), z.union([z.literal(0), z.literal(1)]), z.number().nonnegative().nullable(), z.string().nullable()]);
export type PackedCheck = z.infer<typeof PackedCheckSchema>;

/** `bucket = 'minute'`: the raw checks of each endpoint in that minute (kept for a bounded time). */
export const MinuteRollupSchema = z.record(z.string(), z.object({ c: z.array(PackedCheckSchema) }));
export type MinuteRollup = z.infer<typeof MinuteRollupSchema>;

/** `bucket = 'hour'`: per endpoint, checks `n`, successes `ok`, and the response times of successful checks. */
export const HourStatsSchema = z.object({
  n: z.number().int().nonnegative(),
  ok: z.number().int().nonnegative(),
  rtN: z.number().int().nonnegative(),
  rtSum: z.number().nonnegative(),
  rtMin: z.number().nonnegative().nullable(),
  rtMax: z.number().nonnegative().nullable(),
  /** Counts per RESPONSE_TIME_BUCKETS_MS bucket, plus one for above the last bound. */
  h: z.array(z.number().int().nonnegative()).length(RESPONSE_TIME_BUCKETS_MS.length + 1),
});
export type HourStats = z.infer<typeof HourStatsSchema>;
export const HourRollupSchema = z.record(z.string(), HourStatsSchema);
export type HourRollup = z.infer<typeof HourRollupSchema>;
