import { z } from "zod";
import { queueStats } from "../services/queue-stats";
import { toQueueSummary } from "../model/queue";
import type { Draft } from "./messages";

/** A queue's `queue-metrics-updated` goes out at most this often. */
export const METRICS_INTERVAL_MS = 1000;
const MAX_REFRESH_PER_RUN = 50;

export const QUEUE_METRICS_SCHEMA = [`CREATE TABLE queue_metrics (queue TEXT PRIMARY KEY, dirty INTEGER NOT NULL, sent_at INTEGER NOT NULL, last TEXT)`];

const Row = z.object({ queue: z.string(), last: z.string().nullable() });

/**
 * Queues whose counts may have changed since their last `queue-metrics-updated`, throttled per
 * queue. The counts are those GET /queues shows (live ones from the queue's scheduler, finished ones from D1).
 */
export class QueueMetrics {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  markDirty(queues: string[]) {
    for (const q of queues) {
      this.#sql.exec(`INSERT INTO queue_metrics (queue, dirty, sent_at) VALUES (?, 1, 0) ON CONFLICT (queue) DO UPDATE SET dirty = 1`, q);
    }
  }

  /** When the next refresh may run, or null when no queue is waiting. */
  nextDueAt(): number | null {
    const v = this.#sql.exec(`SELECT MIN(sent_at) AS t FROM queue_metrics WHERE dirty = 1`).one().t;
    return typeof v === "number" ? v + METRICS_INTERVAL_MS : null;
  }

  /** Takes the queues due now; a change arriving while they are refreshed marks them again. */
  takeDue(now: number): { queue: string; last: string | null }[] {
    const rows = this.#sql
      .exec(`SELECT queue, last FROM queue_metrics WHERE dirty = 1 AND sent_at <= ? ORDER BY sent_at LIMIT ?`, now - METRICS_INTERVAL_MS, MAX_REFRESH_PER_RUN)
      .toArray()
      .map((r) => Row.parse(r));
    for (const r of rows) this.#sql.exec(`UPDATE queue_metrics SET dirty = 0, sent_at = ? WHERE queue = ?`, now, r.queue);
    return rows;
  }

  /** Reads the counts of these queues and returns a message for each whose counts, status or workers changed. */
  async refresh(env: Env, due: { queue: string; last: string | null }[], now: number): Promise<Draft[]> {
    const stats = await Promise.all(due.map((d) => queueStats(env, now, d.queue)));
    const drafts: Draft[] = [];
    due.forEach((d, i) => {
      const s = stats[i][0];
      if (!s) return;
      const summary = toQueueSummary(s);
      const { throughput: _, ...counted } = summary;
      const key = JSON.stringify(counted);
      if (key === d.last) return;
      this.#sql.exec(`UPDATE queue_metrics SET last = ? WHERE queue = ?`, key, d.queue);
      drafts.push({ topic: "queue-metrics", data: summary, timestamp: new Date(now).toISOString(), queue: d.queue, jobId: null, jobType: null });
    });
    return drafts;
  }
}
