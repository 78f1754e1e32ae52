/**
 * The archive of finished jobs is partitioned by the UTC day its rows were flushed: one table per
 * day (`jobs_d20261203`), so retention drops a whole day at once instead of deleting (and paying
 * for) every row. `jobs` is a view over the day tables and `jobs_legacy` (rows the previous engines
 * wrote), so every reader keeps asking `jobs`; rows are written into a day table by name.
 *
 * The view, its delete trigger and the set of day tables change together, in one D1 batch that
 * first checks the set of day tables is still the one it was built from (another isolate may have
 * added or dropped one meanwhile): a stale batch fails whole and is rebuilt.
 */
import type { JobRow } from "./schema";

export const LEGACY_JOBS_TABLE = "jobs_legacy";
const DAY_MS = 86_400_000;
const DAY_TABLE = /^jobs_d(\d{8})$/;
/** sqlite_master names of the day tables (GLOB: `_` is literal there). */
const DAY_TABLE_GLOB = "jobs_d[0-9]*";
/** D1 allows at most this many terms in one compound SELECT. */
const COMPOUND_SELECT_TERMS = 5;
/** Attempts at a schema change that lost a race with another isolate's. */
const SCHEMA_CHANGE_ATTEMPTS = 5;

/** An archived job's fields and their columns, in the view's order (the flush writes rows by position in it). */
export const ARCHIVE_COLUMNS: [keyof JobRow, string][] = [
  ["id", "id"],
  ["queue", "queue"],
  ["type", "type"],
  ["name", "name"],
  ["status", "status"],
  ["priority", "priority"],
  ["parameters", "parameters"],
  ["result", "result"],
  ["error", "error"],
  ["runAt", "run_at"],
  ["attempt", "attempt"],
  ["retryCount", "retry_count"],
  ["maxRetries", "max_retries"],
  ["timeoutMs", "timeout_ms"],
  ["cancelRequested", "cancel_requested"],
  ["leaseUntil", "lease_until"],
  ["progress", "progress"],
  ["progressMessage", "progress_message"],
  ["idempotencyKey", "idempotency_key"],
  ["requestHash", "request_hash"],
  ["createdAt", "created_at"],
  ["updatedAt", "updated_at"],
  ["executedAt", "executed_at"],
  ["completedAt", "completed_at"],
  ["recurringId", "recurring_id"],
  ["scheduledFor", "scheduled_for"],
];

/** The day table for rows flushed at `ms`. */
export function archiveTableFor(ms: number): string {
  return `jobs_d${new Date(ms).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

/** When the day of a day table ends (every row in it was flushed before then), or null for another name. */
export function archiveTableEnd(table: string): number | null {
  const m = DAY_TABLE.exec(table);
  if (!m) return null;
  const d = m[1];
  return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T00:00:00Z`) + DAY_MS;
}

/**
 * A day table. WITHOUT ROWID: the row is its primary-key entry, so an insert writes one row plus
 * one `created_at` entry. The partial indexes cost nothing for completed jobs: failed and
 * cancelled ones (looked for, rare) and live statuses (never archived; queries for rows the
 * previous engine left live use them and find none here).
 */
function dayTableStatements(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY NOT NULL, queue TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
      priority INTEGER NOT NULL, parameters TEXT NOT NULL, result TEXT, error TEXT, run_at INTEGER NOT NULL,
      attempt INTEGER NOT NULL DEFAULT 0, retry_count INTEGER NOT NULL DEFAULT 0, max_retries INTEGER NOT NULL, timeout_ms INTEGER,
      cancel_requested INTEGER NOT NULL DEFAULT 0, lease_until INTEGER, progress REAL, progress_message TEXT, idempotency_key TEXT,
      request_hash TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, executed_at INTEGER, completed_at INTEGER,
      recurring_id TEXT, scheduled_for INTEGER
    ) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${table}_created_at ON ${table} (created_at)`,
    `CREATE INDEX IF NOT EXISTS ${table}_status_created_at ON ${table} (status, created_at) WHERE status = 'failed' OR status = 'cancelled'`,
    `CREATE INDEX IF NOT EXISTS ${table}_failed_completed_at ON ${table} (completed_at) WHERE status = 'failed'`,
    `CREATE INDEX IF NOT EXISTS ${table}_recurring_created ON ${table} (recurring_id, created_at) WHERE recurring_id IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ${table}_live ON ${table} (queue, status) WHERE status IN ('pending', 'running')`,
  ];
}

/**
 * `jobs` over these day tables and the legacy table, and its delete trigger: a delete from `jobs`
 * deletes the row wherever it is. (Rows that belong to a job, such as its attempts or HTTP
 * definition, are deleted by whoever purges the job: a flush moving a re-run job to today's table
 * deletes its old row and must keep them.)
 */
function viewStatements(dayTables: string[]): string[] {
  const tables = [LEGACY_JOBS_TABLE, ...[...dayTables].sort()];
  return [
    `DROP VIEW IF EXISTS jobs`,
    `CREATE VIEW jobs AS ${unionOf(tables)}`,
    `CREATE TRIGGER jobs_delete INSTEAD OF DELETE ON jobs BEGIN ${tables.map((t) => `DELETE FROM ${t} WHERE id = OLD.id;`).join(" ")} END`,
    // Fails the batch if the view names a table that does not exist (a view is not checked when created).
    `SELECT 1 FROM jobs LIMIT 0`,
  ];
}

/**
 * `UNION ALL` of the tables' rows, nested so that no compound SELECT has more than D1's
 * COMPOUND_SELECT_TERMS terms. SQLite flattens the nesting: a query on the view still merges the
 * tables in index order and probes each by primary key.
 */
function unionOf(tables: string[]): string {
  const cols = ARCHIVE_COLUMNS.map(([, column]) => column).join(", ");
  if (tables.length <= COMPOUND_SELECT_TERMS) return tables.map((t) => `SELECT ${cols} FROM ${t}`).join(" UNION ALL ");
  const size = Math.ceil(tables.length / COMPOUND_SELECT_TERMS);
  const groups = Array.from({ length: Math.ceil(tables.length / size) }, (_, i) => tables.slice(i * size, (i + 1) * size));
  return groups.map((g) => (g.length === 1 ? `SELECT ${cols} FROM ${g[0]}` : `SELECT ${cols} FROM (${unionOf(g)})`)).join(" UNION ALL ");
}

/** The day tables that exist now, by name. */
export async function archiveDayTables(env: Env): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?1 ORDER BY name`).bind(DAY_TABLE_GLOB).all<{ name: string }>();
  return results.map((r) => r.name).filter((n) => DAY_TABLE.test(n));
}

/** A statement that fails (malformed JSON) unless the day tables are exactly `tables`. */
function unchangedSince(env: Env, tables: string[]): D1PreparedStatement {
  return env.DB.prepare(
    `SELECT json(CASE WHEN COALESCE((SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?1 ORDER BY name)), '') = ?2
       THEN '1' ELSE 'archive day tables changed' END)`,
  ).bind(DAY_TABLE_GLOB, [...tables].sort().join(","));
}

/**
 * Runs a change of the day tables: `change(tables)` gives the new set and the statements that make
 * it, given the set that exists; retried while another isolate changes the set in between.
 * Returns the rows the change wrote.
 */
async function changeDayTables(env: Env, change: (tables: string[]) => { next: string[]; statements: D1PreparedStatement[] } | null): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const tables = await archiveDayTables(env);
    const plan = change(tables);
    if (!plan) return 0;
    try {
      const results = await env.DB.batch([unchangedSince(env, tables), ...plan.statements, ...viewStatements(plan.next).map((s) => env.DB.prepare(s))]);
      return results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0);
    } catch (err) {
      if (attempt >= SCHEMA_CHANGE_ATTEMPTS) throw err;
    }
  }
}

/** Day tables this isolate knows exist (and are in the view); a table is only ever dropped days after its day. */
const known = new Set<string>();

/** The day table for rows flushed at `at`, created (and added to the view) if it does not exist yet. */
export async function ensureArchiveTable(env: Env, at: number): Promise<string> {
  const table = archiveTableFor(at);
  if (known.has(table)) return table;
  await changeDayTables(env, (tables) =>
    tables.includes(table) ? null : { next: [...tables, table], statements: dayTableStatements(table).map((s) => env.DB.prepare(s)) },
  );
  known.add(table);
  return table;
}

/** Forgets what this isolate knew of the day tables (after a write found one missing). */
export function forgetArchiveTables(): void {
  known.clear();
}

/**
 * Drops a day table with the statements that must go with it (child rows, counters), taking it out
 * of the view in the same transaction. `extra` is built against the table while it still exists.
 * Returns the rows written.
 */
export async function dropArchiveTable(env: Env, table: string, extra: D1PreparedStatement[]): Promise<number> {
  const written = await changeDayTables(env, (tables) =>
    tables.includes(table) ? { next: tables.filter((t) => t !== table), statements: [...extra, env.DB.prepare(`DROP TABLE ${table}`)] } : null,
  );
  known.delete(table);
  return written;
}
