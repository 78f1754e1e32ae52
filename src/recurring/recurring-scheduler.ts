import { migrateSqlite } from "../lib/sqlite-migrations";
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { fireDue } from "./fire";

/** After a failed fire (D1 unreachable, ...) the alarm tries again this much later. */
export const RETRY_AFTER_ERROR_MS = 5_000;

const RecurringIdSchema = z.string().min(1).max(100);
const MIGRATIONS: string[][] = [[`CREATE TABLE schedule (id INTEGER PRIMARY KEY CHECK (id = 1), recurring_id TEXT NOT NULL, alarm_at INTEGER)`]];

/**
 * One per recurring job (named by its id). Holds the job's next fire time as its single alarm,
 * independent of the queue's scheduler. A derived copy of D1's `recurring_jobs.next_run_at`:
 * `sync` rebuilds it from D1 at any time.
 */
export class RecurringScheduler extends DurableObject<Env> {
  #chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrateSqlite(ctx.storage, MIGRATIONS));
  }

  /** Re-reads the definition from D1, runs whatever is due, and sets the alarm at the next slot (or clears it). */
  async sync(recurringId: string): Promise<{ nextRunAt: number | null }> {
    const id = RecurringIdSchema.parse(recurringId);
    return { nextRunAt: await this.#serialized(() => advance(this.ctx, this.env, id, Date.now())) };
  }

  override async alarm(): Promise<void> {
    const rows = this.ctx.storage.sql.exec(`SELECT recurring_id FROM schedule WHERE id = 1`).toArray();
    const id = RecurringIdSchema.safeParse(rows[0]?.recurring_id);
    if (!id.success) return;
    await this.#serialized(() => advance(this.ctx, this.env, id.data, Date.now()));
  }

  // Sync and alarm both await D1, which lets other calls in; one at a time keeps fires simple.
  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => undefined);
    return run;
  }
}

/**
 * One step of a recurring job's scheduler at `now` (the alarm and `sync` pass the clock; tests
 * pass a chosen instant): fire what is due, then keep exactly one alarm at the next slot.
 */
export async function advance(ctx: DurableObjectState, env: Env, recurringId: string, now: number): Promise<number | null> {
  let alarmAt: number | null;
  try {
    const result = await fireDue(env, recurringId, now);
    if (!result.exists) {
      await ctx.storage.deleteAlarm();
      await ctx.storage.deleteAll();
      return null;
    }
    alarmAt = result.next;
  } catch (err) {
    console.error(`recurring job ${recurringId}: fire failed; trying again`, err);
    alarmAt = now + RETRY_AFTER_ERROR_MS;
  }
  migrateSqlite(ctx.storage, MIGRATIONS);
  ctx.storage.sql.exec(`INSERT OR REPLACE INTO schedule (id, recurring_id, alarm_at) VALUES (1, ?, ?)`, recurringId, alarmAt);
  if (alarmAt == null) await ctx.storage.deleteAlarm();
  else await ctx.storage.setAlarm(alarmAt);
  return alarmAt;
}

