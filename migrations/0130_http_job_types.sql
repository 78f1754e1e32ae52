-- Job types served by the user's own HTTP service, registered at run time (POST /job-types).
-- `credentials` is the AES-GCM ciphertext of the signing secret and the custom header values
-- (src/webhooks/credentials.ts, bound to `jobtype:<name>`); `header_names` lists the header names
-- in clear for display. `parameters_schema` is the JSON Schema text, or NULL for "any object".
CREATE TABLE http_job_types (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  parameters_schema TEXT,
  timeout_ms INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  callback_timeout_ms INTEGER NOT NULL,
  header_names TEXT NOT NULL DEFAULT '[]',
  credentials TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- What a job of such a type runs against, copied when the job is created, so that a later PATCH
-- or DELETE of the type changes new jobs only. (The timeout and maxRetries are on the job row.)
CREATE TABLE http_job_definitions (
  job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  type_name TEXT NOT NULL,
  url TEXT NOT NULL,
  callback_timeout_ms INTEGER NOT NULL,
  credentials TEXT NOT NULL
);
CREATE INDEX http_job_definitions_type ON http_job_definitions (type_name);

-- One callback token per delivered attempt (its SHA-256 only) and what the service reported
-- through it. `state`: waiting, completed, failed, cancelled.
CREATE TABLE http_job_callbacks (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  token_hash TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'waiting',
  result TEXT,
  error TEXT,
  retry INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  settled_at INTEGER,
  PRIMARY KEY (job_id, attempt)
);
