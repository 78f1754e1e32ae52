-- Queues: settings per queue. A queue also exists without a row as soon as a job names it.
-- paused, workers and the rate limit mirror the queue's scheduler (the authority for them);
-- `version` is the scheduler's settings version, so a late mirror write never overwrites a newer one.
-- The defaults apply to new jobs that do not give maxRetries / timeoutSeconds themselves.
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  workers INTEGER NOT NULL DEFAULT 10,
  rate_limit INTEGER,
  rate_interval_ms INTEGER,
  version INTEGER NOT NULL DEFAULT 0,
  default_max_retries INTEGER,
  default_timeout_ms INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Throughput (jobs finished per queue in the last hour) without reading job rows.
CREATE INDEX IF NOT EXISTS jobs_status_completed_at_queue ON jobs (status, completed_at, queue);
