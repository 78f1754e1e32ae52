/**
 * Versioned schema setup for a Durable Object's SQLite storage: `migrations[v]` moves the schema
 * from version v to v + 1. Idempotent, so every constructor can call it. Each version commits
 * with its version row in one transaction: a statement that throws leaves the schema at the
 * previous version, never half-applied. `sql` may wrap `storage.sql` (e.g. to meter it).
 */
export function migrateSqlite(storage: DurableObjectStorage, migrations: readonly (readonly string[])[], sql: SqlStorage = storage.sql): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`);
  const row = sql.exec(`SELECT MAX(version) AS v FROM schema_version`).one();
  const current = typeof row.v === "number" ? row.v : 0;
  for (let v = current; v < migrations.length; v++) {
    storage.transactionSync(() => {
      for (const stmt of migrations[v]) sql.exec(stmt);
      sql.exec(`INSERT INTO schema_version (version) VALUES (?)`, v + 1);
    });
  }
}
