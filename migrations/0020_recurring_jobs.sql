-- Recurring (cron) job definitions: the source of truth. Times are epoch milliseconds (UTC).
-- next_run_at is the next slot not yet handled (NULL while disabled); each definition's
-- RecurringScheduler Durable Object holds an alarm at that time and is rebuilt from this row.
CREATE TABLE recurring_jobs (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  cron_expression TEXT NOT NULL,
  timezone TEXT NOT NULL,
  parameters TEXT NOT NULL,
  queue TEXT NOT NULL,
  priority INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  timeout_ms INTEGER,
  overlap_policy TEXT NOT NULL CHECK (overlap_policy IN ('skip', 'allow', 'cancelPrevious')),
  missed_run_policy TEXT NOT NULL CHECK (missed_run_policy IN ('skip', 'runOnce', 'runAll')),
  enabled INTEGER NOT NULL,
  next_run_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX recurring_jobs_due ON recurring_jobs (enabled, next_run_at);
CREATE INDEX recurring_jobs_created_at ON recurring_jobs (created_at);

-- Every fire creates one ordinary job (an occurrence) for its slot. The unique index makes a
-- slot fire at most once, however often the alarm that creates it runs. Manual triggers have
-- no slot (scheduled_for NULL), and NULLs never collide.
ALTER TABLE jobs ADD COLUMN recurring_id TEXT;
ALTER TABLE jobs ADD COLUMN scheduled_for INTEGER;
CREATE UNIQUE INDEX jobs_recurring_slot ON jobs (recurring_id, scheduled_for);
CREATE INDEX jobs_recurring_created ON jobs (recurring_id, created_at) WHERE recurring_id IS NOT NULL;
CREATE INDEX jobs_recurring_active ON jobs (recurring_id) WHERE status IN ('pending', 'running');
