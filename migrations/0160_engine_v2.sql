-- Engine v2: each queue's QueueScheduler object keeps its live jobs; D1 `jobs` is the archive of
-- finished ones, written once per job by the object's batched flush (src/db/archive.ts).

-- One row per applied flush. Every statement of a flush is guarded by the absence of its marker and
-- the marker is inserted last in the same batch, so a replayed flush writes nothing.
CREATE TABLE archive_flushes (
  queue TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (queue, seq)
) WITHOUT ROWID;
-- Retention drops markers past any possible replay (a marker per flush of up to 500 jobs).
CREATE INDEX archive_flushes_at ON archive_flushes (at);

-- Archived (finished) jobs per queue and status, so list totals and queue stats are not COUNT(*) scans.
-- Kept by the flush (a revived job that ends again moves between statuses) and by every delete of archived rows.
CREATE TABLE job_counts (
  queue TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, status)
) WITHOUT ROWID;
INSERT INTO job_counts (queue, status, n)
  SELECT queue, status, COUNT(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') GROUP BY queue, status;

-- Create's idempotency keys, written only by jobs created with a key. The archive row may carry the
-- key too, but nothing looks it up there any more.
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY NOT NULL,
  job_id TEXT NOT NULL,
  request_hash TEXT,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
INSERT OR IGNORE INTO idempotency_keys (key, job_id, request_hash, created_at)
  SELECT idempotency_key, id, request_hash, created_at FROM jobs WHERE idempotency_key IS NOT NULL;

-- Log lines of archived attempts, packed: one row per job attempt and page of lines (a JSON array),
-- instead of a row and an index entry per line. job_logs keeps the lines the old engine wrote.
CREATE TABLE job_log_pages (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  page INTEGER NOT NULL,
  lines TEXT NOT NULL,
  PRIMARY KEY (job_id, attempt, page)
) WITHOUT ROWID;

-- Lean archive indexes. Every index entry an insert adds is a billed row written, and archived rows
-- are never pending or running, so indexes that served live jobs only go.
DROP INDEX IF EXISTS jobs_queue_status_run_at;
DROP INDEX IF EXISTS jobs_pending_run_at;
DROP INDEX IF EXISTS jobs_status_lease;
DROP INDEX IF EXISTS jobs_status_run_at;
DROP INDEX IF EXISTS jobs_recurring_active;
-- Uniqueness of a recurring slot and of an idempotency key is the object's (and idempotency_keys')
-- job at creation. In the archive a unique index could only make a flush fail for ever.
DROP INDEX IF EXISTS jobs_recurring_slot;
DROP INDEX IF EXISTS jobs_idempotency_key;
-- Rows the old engine left pending or running, until each queue's object imports them once. Archived
-- rows are never in it, so it costs the archive nothing.
CREATE INDEX jobs_live ON jobs (queue, status) WHERE status IN ('pending', 'running');
-- No (queue, created_at) index: it would be a written row per archived job ($1 per million) to
-- spare lists filtered by queue a walk of jobs_created_at that skips other queues' rows (read
-- rows cost a thousandth of written ones); their totals come from job_counts.
-- Most archived jobs are completed: a list of completed jobs walks jobs_created_at and skips the
-- few others; its total comes from job_counts. Failed and
-- cancelled jobs are rare and looked for, so only they are in the status index. A query uses it when
-- it names the status as a literal (`status = 'failed'` implies this OR; a bound parameter does not).
DROP INDEX IF EXISTS jobs_status_created_at;
CREATE INDEX jobs_status_created_at ON jobs (status, created_at) WHERE status = 'failed' OR status = 'cancelled';
-- Grafana's failed-job annotations, by completion time (the other readers by completion time moved
-- to the rollups and job_counts).
DROP INDEX IF EXISTS jobs_status_completed_at_queue;
CREATE INDEX jobs_failed_completed_at ON jobs (completed_at) WHERE status = 'failed';
-- Kept: jobs_created_at (lists, export, retention), jobs_recurring_created (a recurring job's runs).

-- Every queue with a job has a `queues` row in v2 (lists, stats and id routing enumerate them);
-- queues that only the previous engine's jobs named get theirs here.
INSERT OR IGNORE INTO queues (name, created_at, updated_at)
SELECT queue, MIN(created_at), MAX(updated_at) FROM jobs GROUP BY queue;
