-- Metrics aggregates, written in the same transaction as each terminal state (see src/metrics/rollup-sink.ts),
-- so that metrics cost O(buckets) instead of O(jobs) and survive the retention purge of job rows.
-- WITHOUT ROWID and no secondary index: an upsert writes exactly one row.
--
-- Counts per job run reaching a terminal state (completed / failed / cancelled) and per failed attempt
-- that was retried (`retried`, not a failed job). `timed`, `duration_ms` and the histogram describe the
-- final attempt of completed and failed runs; b0..b14 are per-bucket (not cumulative) counts for
-- the upper bounds in src/metrics/histogram.ts; the +Inf bucket is `timed`.

-- Per UTC hour (`hour` = start of the hour, epoch ms), queue and job type. Kept METRICS_RETENTION_DAYS.
CREATE TABLE job_rollups (
  hour INTEGER NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  retried INTEGER NOT NULL DEFAULT 0,
  timed INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
  b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
  b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
  b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, b11 INTEGER NOT NULL DEFAULT 0,
  b12 INTEGER NOT NULL DEFAULT 0, b13 INTEGER NOT NULL DEFAULT 0, b14 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, queue, type)
) WITHOUT ROWID;

-- The same counters since the beginning, never purged: Prometheus counters must not go down.
CREATE TABLE job_totals (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  retried INTEGER NOT NULL DEFAULT 0,
  timed INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  b0 INTEGER NOT NULL DEFAULT 0, b1 INTEGER NOT NULL DEFAULT 0, b2 INTEGER NOT NULL DEFAULT 0,
  b3 INTEGER NOT NULL DEFAULT 0, b4 INTEGER NOT NULL DEFAULT 0, b5 INTEGER NOT NULL DEFAULT 0,
  b6 INTEGER NOT NULL DEFAULT 0, b7 INTEGER NOT NULL DEFAULT 0, b8 INTEGER NOT NULL DEFAULT 0,
  b9 INTEGER NOT NULL DEFAULT 0, b10 INTEGER NOT NULL DEFAULT 0, b11 INTEGER NOT NULL DEFAULT 0,
  b12 INTEGER NOT NULL DEFAULT 0, b13 INTEGER NOT NULL DEFAULT 0, b14 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, type)
) WITHOUT ROWID;

-- Failed jobs (terminal failures only) by normalised reason (src/metrics/failure-reason.ts).
CREATE TABLE job_failure_reasons (
  hour INTEGER NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, queue, type, reason)
) WITHOUT ROWID;

CREATE TABLE job_failure_reason_totals (
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, type, reason)
) WITHOUT ROWID;

-- Queue pauses, resumes and clears, for Grafana annotations. Kept METRICS_RETENTION_DAYS.
CREATE TABLE queue_events (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX queue_events_at ON queue_events (at);

-- Periodic housekeeping run from the every-minute cron: `next_run_at` is the marker that makes the
-- retention purge run once a day (and continue next minute while a bounded run left work behind);
-- `lease_until` keeps two overlapping cron invocations from running it at the same time.
CREATE TABLE maintenance_tasks (
  name TEXT PRIMARY KEY,
  next_run_at INTEGER NOT NULL,
  lease_until INTEGER,
  last_started_at INTEGER,
  last_finished_at INTEGER,
  last_result TEXT
);
INSERT INTO maintenance_tasks (name, next_run_at) VALUES ('retention', 0);
