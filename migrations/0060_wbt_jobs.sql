-- Jobs created through the WbtWebJob-compatible API (/api/jobs) keep the fields that API speaks.
-- Only those jobs get a row here, so the main job path writes nothing extra.
CREATE TABLE wbt_jobs (
  job_id TEXT PRIMARY KEY,
  business_id TEXT NOT NULL,
  job_type INTEGER NOT NULL CHECK (job_type IN (1, 2, 3)),
  description TEXT,
  configuration TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX wbt_jobs_business_id ON wbt_jobs (business_id, created_at);
