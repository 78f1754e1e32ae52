-- Jobs: the source of truth. Times are epoch milliseconds (UTC).
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  priority INTEGER NOT NULL,
  parameters TEXT NOT NULL,
  result TEXT,
  error TEXT,
  run_at INTEGER NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  retry_count INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL,
  timeout_ms INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER,
  progress REAL,
  progress_message TEXT,
  idempotency_key TEXT,
  request_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  executed_at INTEGER,
  completed_at INTEGER
);
CREATE INDEX jobs_status_run_at ON jobs (status, run_at);
CREATE INDEX jobs_queue_status_run_at ON jobs (queue, status, run_at);
CREATE INDEX jobs_created_at ON jobs (created_at);
CREATE INDEX jobs_status_lease ON jobs (status, lease_until);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);

-- One row per started attempt: the job's executionHistory.
CREATE TABLE job_attempts (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  started_at INTEGER NOT NULL,
  completed_at INTEGER,
  duration_ms INTEGER,
  error TEXT,
  retry_at INTEGER,
  PRIMARY KEY (job_id, attempt)
);

CREATE TABLE job_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  details TEXT,
  step_name TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX job_logs_job_id ON job_logs (job_id, id);
