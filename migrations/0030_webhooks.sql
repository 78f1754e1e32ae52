-- Webhook endpoints. `credentials` is AES-GCM ciphertext (signing secrets, the previous secret
-- during a rotation, custom header values, the Splunk token): the worker must be able to sign, so
-- the secrets cannot be hashed, but they are never stored or returned in clear after creation.
-- `events`, `filter_queues` and `filter_job_types` are JSON arrays, matched with json_each by the
-- outbox statement that runs in every job state change's transaction.
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  description TEXT,
  events TEXT NOT NULL,
  filter_queues TEXT,
  filter_job_types TEXT,
  format TEXT NOT NULL,
  format_options TEXT NOT NULL DEFAULT '{}',
  header_names TEXT NOT NULL DEFAULT '[]',
  credentials TEXT NOT NULL,
  previous_secret_expires_at INTEGER,
  max_retries INTEGER NOT NULL,
  retry_delay_ms INTEGER NOT NULL,
  backoff TEXT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  disable_after_failures INTEGER NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT,
  disabled_at INTEGER,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  succeeded_deliveries INTEGER NOT NULL DEFAULT 0,
  failed_deliveries INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER,
  last_failure_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- One row per (event, endpoint), written by the outbox statement; a redelivery is a new row that
-- points at the one it repeats. `next_attempt_at` is when the delivery is due (or, while an attempt
-- runs, when that attempt's lease ends); `sent_at` is when a queue message was last sent for it.
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  sent_at INTEGER,
  response_status INTEGER,
  latency_ms INTEGER,
  error TEXT,
  redelivery_of TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);

CREATE UNIQUE INDEX webhook_deliveries_event_endpoint ON webhook_deliveries (event_id, endpoint_id) WHERE redelivery_of IS NULL;
CREATE INDEX webhook_deliveries_endpoint_created ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE completed_at IS NOT NULL;

-- The attempt log: every HTTP attempt of every delivery.
CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  response_status INTEGER,
  latency_ms INTEGER,
  error TEXT,
  response_body TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
