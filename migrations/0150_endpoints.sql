-- Endpoint monitoring (seed 002). The EndpointMonitor Durable Object of each shard owns the live state of
-- its endpoints and writes here in batches: the endpoint's status as of its last flush, one row per status
-- change, and packed check rollups (one row per shard and minute / hour, see src/monitoring/rollup-data.ts),
-- so a thousand endpoints checked every 30 s do not cost a D1 row per check.
CREATE TABLE endpoints (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  type TEXT NOT NULL,
  port INTEGER,
  scheme TEXT,
  path TEXT,
  method TEXT,
  expected_status INTEGER,
  timeout_ms INTEGER NOT NULL,
  group_name TEXT,
  interval_seconds INTEGER NOT NULL,
  failure_threshold INTEGER NOT NULL,
  enabled INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'unknown',
  previous_status TEXT,
  status_changed_at INTEGER,
  last_checked_at INTEGER,
  last_response_time_ms REAL,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  checks_success INTEGER NOT NULL DEFAULT 0,
  checks_failure INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX endpoints_by_shard ON endpoints (shard);

CREATE TABLE endpoint_status_changes (
  id TEXT PRIMARY KEY NOT NULL,
  endpoint_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  status TEXT NOT NULL,
  previous_status TEXT,
  response_time_ms REAL
);
CREATE INDEX endpoint_status_changes_by_endpoint ON endpoint_status_changes (endpoint_id, at);

CREATE TABLE endpoint_rollups (
  bucket TEXT NOT NULL,
  bucket_start INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (bucket, bucket_start, shard)
) WITHOUT ROWID;
