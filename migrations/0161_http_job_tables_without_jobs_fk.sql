-- Engine v2: a job's HTTP type definition is written before the job exists in D1 (live jobs are
-- held by their queue's scheduler; D1 `jobs` gets the row when the job ends), and a handed-off
-- attempt's callback row while the job is still live. So these tables no longer reference `jobs`;
-- a trigger deletes their rows with their archived job instead of the cascade. (A row deleted while
-- pending or running is one the scheduler imports from the previous engine: its rows stay.)
CREATE TABLE http_job_definitions_v2 (
  job_id TEXT PRIMARY KEY,
  type_name TEXT NOT NULL,
  url TEXT NOT NULL,
  callback_timeout_ms INTEGER NOT NULL,
  credentials TEXT NOT NULL
);
INSERT INTO http_job_definitions_v2 (job_id, type_name, url, callback_timeout_ms, credentials)
  SELECT job_id, type_name, url, callback_timeout_ms, credentials FROM http_job_definitions;
DROP TABLE http_job_definitions;
ALTER TABLE http_job_definitions_v2 RENAME TO http_job_definitions;
CREATE INDEX http_job_definitions_type ON http_job_definitions (type_name);

CREATE TABLE http_job_callbacks_v2 (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  token_hash TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'waiting',
  result TEXT,
  error TEXT,
  retry INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  settled_at INTEGER,
  -- Log lines of the handed-off attempt (its delivery, then the service's log callbacks), a JSON
  -- array handed to the scheduler with the attempt's end.
  logs TEXT,
  PRIMARY KEY (job_id, attempt)
);
INSERT INTO http_job_callbacks_v2 (job_id, attempt, token_hash, state, result, error, retry, created_at, settled_at)
  SELECT job_id, attempt, token_hash, state, result, error, retry, created_at, settled_at FROM http_job_callbacks;
DROP TABLE http_job_callbacks;
ALTER TABLE http_job_callbacks_v2 RENAME TO http_job_callbacks;

CREATE TRIGGER jobs_delete_http_rows AFTER DELETE ON jobs WHEN OLD.status IN ('completed', 'failed', 'cancelled')
BEGIN
  DELETE FROM http_job_definitions WHERE job_id = OLD.id;
  DELETE FROM http_job_callbacks WHERE job_id = OLD.id;
END;
