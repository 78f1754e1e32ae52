/**
 * Upper bounds (seconds) of the job duration histogram: b0..b14 in the rollup tables hold the
 * count of durations in (previous bound, bound]; anything longer only counts in +Inf (`timed`).
 * Changing these needs a migration: the stored counts are per bucket.
 */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900] as const;

export const BUCKET_COLUMNS = DURATION_BUCKETS_SECONDS.map((_, i) => `b${i}`);

/** Index of the bucket a duration falls in, or -1 when it is longer than the last bound. */
export function bucketIndex(durationMs: number): number {
  const seconds = durationMs / 1000;
  return DURATION_BUCKETS_SECONDS.findIndex((bound) => seconds <= bound);
}
