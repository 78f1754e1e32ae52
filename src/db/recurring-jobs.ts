import { and, count, desc, eq, lte, sql, type SQL } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { getDb } from "./client";
import { jobs } from "./schema";

// Mirrors migrations/0020_recurring_jobs.sql.
export const recurringJobs = sqliteTable("recurring_jobs", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  name: text("name").notNull(),
  cronExpression: text("cron_expression").notNull(),
  timezone: text("timezone").notNull(),
  parameters: text("parameters").notNull(),
  queue: text("queue").notNull(),
  priority: integer("priority").notNull(),
  maxRetries: integer("max_retries").notNull(),
  timeoutMs: integer("timeout_ms"),
  overlapPolicy: text("overlap_policy", { enum: ["skip", "allow", "cancelPrevious"] }).notNull(),
  missedRunPolicy: text("missed_run_policy", { enum: ["skip", "runOnce", "runAll"] }).notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  nextRunAt: integer("next_run_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type RecurringJobRow = typeof recurringJobs.$inferSelect;
export type RecurringJobChange = Partial<Omit<RecurringJobRow, "id" | "type" | "createdAt">>;
export type RecurringFilter = { enabled?: boolean; type?: string; queue?: string };

export async function insertRecurringJob(env: Env, row: RecurringJobRow): Promise<void> {
  await getDb(env).insert(recurringJobs).values(row).run();
}

export async function getRecurringJob(env: Env, id: string): Promise<RecurringJobRow | undefined> {
  return getDb(env).select().from(recurringJobs).where(eq(recurringJobs.id, id)).get();
}

export async function listRecurringJobs(env: Env, filter: RecurringFilter, page: { limit: number; offset: number }) {
  const db = getDb(env);
  const where: SQL | undefined = and(
    filter.enabled != null ? eq(recurringJobs.enabled, filter.enabled) : undefined,
    filter.type ? eq(recurringJobs.type, filter.type) : undefined,
    filter.queue ? eq(recurringJobs.queue, filter.queue) : undefined,
  );
  const [rows, total] = await db.batch([
    db.select().from(recurringJobs).where(where).orderBy(desc(recurringJobs.createdAt), desc(recurringJobs.id)).limit(page.limit).offset(page.offset),
    db.select({ n: count() }).from(recurringJobs).where(where),
  ]);
  return { rows, totalCount: total[0]?.n ?? 0 };
}

export async function updateRecurringJob(env: Env, id: string, change: RecurringJobChange): Promise<RecurringJobRow | undefined> {
  const rows = await getDb(env).update(recurringJobs).set(change).where(eq(recurringJobs.id, id)).returning();
  return rows[0];
}

export async function deleteRecurringJob(env: Env, id: string): Promise<boolean> {
  const rows = await getDb(env).delete(recurringJobs).where(eq(recurringJobs.id, id)).returning({ id: recurringJobs.id });
  return rows.length > 0;
}

/** Enabled definitions whose next slot is at or before `before`: their scheduler lost its alarm or is late. */
export async function findOverdueRecurringJobs(env: Env, before: number, limit = 500): Promise<string[]> {
  const rows = await getDb(env)
    .select({ id: recurringJobs.id })
    .from(recurringJobs)
    .where(and(eq(recurringJobs.enabled, true), lte(recurringJobs.nextRunAt, before)))
    .limit(limit)
    .all();
  return rows.map((r) => r.id);
}

export async function lastOccurrence(env: Env, recurringId: string) {
  return getDb(env).select().from(jobs).where(eq(jobs.recurringId, recurringId)).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(1).get();
}

/** Moves the cursor from `cursor` to `next`; changes nothing if the definition moved on meanwhile. */
export function advanceCursorStatement(env: Env, id: string, cursor: number, next: number | null): D1PreparedStatement {
  return env.DB.prepare(`UPDATE recurring_jobs SET next_run_at = ? WHERE id = ? AND enabled = 1 AND next_run_at = ? RETURNING id`).bind(next, id, cursor);
}
