-- Every run of an echo job started with `ledger: true` leaves a row here, so the fault suite can
-- prove that no attempt ran twice and none started early. Nothing else writes to it.
CREATE TABLE echo_ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE INDEX echo_ledger_job_id ON echo_ledger (job_id, attempt);
