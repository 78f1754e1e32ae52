-- The archive of finished jobs is partitioned by the day it was flushed (src/db/archive-days.ts):
-- the flush writes today's `jobs_dYYYYMMDD` table, created on first use, and retention drops a whole
-- day at once instead of deleting every row. `jobs` becomes a view over the day tables and
-- `jobs_legacy`, the table the earlier engines wrote, which retention still empties row by row.

-- Rows that belong to a job (HTTP definition, callbacks) are deleted by whoever purges the job: a
-- job that runs again moves to today's table, and its rows must stay.
DROP TRIGGER IF EXISTS jobs_delete_http_rows;

ALTER TABLE jobs RENAME TO jobs_legacy;

CREATE VIEW jobs AS SELECT id, queue, type, name, status, priority, parameters, result, error, run_at, attempt, retry_count, max_retries,
  timeout_ms, cancel_requested, lease_until, progress, progress_message, idempotency_key, request_hash, created_at, updated_at,
  executed_at, completed_at, recurring_id, scheduled_for FROM jobs_legacy;
CREATE TRIGGER jobs_delete INSTEAD OF DELETE ON jobs BEGIN DELETE FROM jobs_legacy WHERE id = OLD.id; END;

-- Where retention's copy of an expired day table to R2 (ARCHIVE_BUCKET) got to, by table: a day
-- can hold more rows than one run copies.
CREATE TABLE archive_day_exports (
  name TEXT PRIMARY KEY NOT NULL,
  after_id TEXT NOT NULL
) WITHOUT ROWID;
