import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, real, primaryKey, index } from "drizzle-orm/sqlite-core";

// Mirrors migrations/*.sql; the migrations are the authority for the live schema.
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    type: text("type").notNull(),
    name: text("name").notNull(),
    status: text("status", { enum: ["pending", "running", "completed", "failed", "cancelled"] }).notNull(),
    priority: integer("priority").notNull(),
    parameters: text("parameters").notNull(),
    result: text("result"),
    error: text("error"),
    runAt: integer("run_at").notNull(),
    attempt: integer("attempt").notNull().default(0),
    retryCount: integer("retry_count").notNull().default(0),
    maxRetries: integer("max_retries").notNull(),
    timeoutMs: integer("timeout_ms"),
    cancelRequested: integer("cancel_requested").notNull().default(0),
    leaseUntil: integer("lease_until"),
    progress: real("progress"),
    progressMessage: text("progress_message"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    executedAt: integer("executed_at"),
    completedAt: integer("completed_at"),
    recurringId: text("recurring_id"),
    scheduledFor: integer("scheduled_for"),
  },
  (t) => [
    index("jobs_created_at").on(t.createdAt),
    index("jobs_status_created_at").on(t.status, t.createdAt).where(sql`status = 'failed' OR status = 'cancelled'`),
    index("jobs_failed_completed_at").on(t.completedAt).where(sql`status = 'failed'`),
    index("jobs_live").on(t.queue, t.status).where(sql`status IN ('pending', 'running')`),
  ],
);

export const jobAttempts = sqliteTable(
  "job_attempts",
  {
    jobId: text("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    status: text("status", { enum: ["running", "completed", "failed", "cancelled"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    completedAt: integer("completed_at"),
    durationMs: integer("duration_ms"),
    error: text("error"),
    retryAt: integer("retry_at"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt] })],
);

export const jobLogs = sqliteTable("job_logs", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  jobId: text("job_id").notNull(),
  attempt: integer("attempt").notNull(),
  level: text("level").notNull(),
  message: text("message").notNull(),
  details: text("details"),
  stepName: text("step_name"),
  createdAt: integer("created_at").notNull(),
});

/** Packed log lines of archived attempts (db/log-pages.ts): `lines` is a JSON array. */
export const jobLogPages = sqliteTable(
  "job_log_pages",
  {
    jobId: text("job_id").notNull(),
    attempt: integer("attempt").notNull(),
    page: integer("page").notNull(),
    lines: text("lines").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attempt, t.page] })],
);

/** One row per applied archive flush of a queue (db/archive.ts). */
export const archiveFlushes = sqliteTable(
  "archive_flushes",
  {
    queue: text("queue").notNull(),
    seq: integer("seq").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.queue, t.seq] })],
);

/** Archived jobs per queue and status (completed, failed, cancelled). */
export const jobCounts = sqliteTable(
  "job_counts",
  {
    queue: text("queue").notNull(),
    status: text("status", { enum: ["completed", "failed", "cancelled"] }).notNull(),
    n: integer("n").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.queue, t.status] })],
);

/** Create's idempotency keys; only jobs created with a key have one. */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    key: text("key").primaryKey(),
    jobId: text("job_id").notNull(),
    requestHash: text("request_hash"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("idempotency_keys_created_at").on(t.createdAt)],
);

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  prefix: text("prefix").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  scopes: text("scopes").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at"),
  revokedAt: integer("revoked_at"),
  lastUsedAt: integer("last_used_at"),
});

export const realtimeTickets = sqliteTable("realtime_tickets", {
  ticketHash: text("ticket_hash").primaryKey(),
  keyId: text("key_id").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

export const queues = sqliteTable("queues", {
  name: text("name").primaryKey(),
  paused: integer("paused").notNull().default(0),
  workers: integer("workers").notNull().default(10),
  rateLimit: integer("rate_limit"),
  rateIntervalMs: integer("rate_interval_ms"),
  version: integer("version").notNull().default(0),
  defaultMaxRetries: integer("default_max_retries"),
  defaultTimeoutMs: integer("default_timeout_ms"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type JobRow = typeof jobs.$inferSelect;
export type JobInsert = typeof jobs.$inferInsert;
export type AttemptRow = typeof jobAttempts.$inferSelect;
export type LogRow = typeof jobLogs.$inferSelect;
export type JobCountRow = typeof jobCounts.$inferSelect;
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type QueueRow = typeof queues.$inferSelect;
