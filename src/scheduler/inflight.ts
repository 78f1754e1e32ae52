/**
 * Moves a queue scheduler's per-row `inflight` table into one row (`inflight_set`): a step of its
 * storage migrations that objects created before it still run. A later step drops the set, since
 * the scheduler now keeps its dispatches in memory.
 */
export const INFLIGHT_SET_MIGRATION = [
  `CREATE TABLE inflight_set (id INTEGER PRIMARY KEY CHECK (id = 1), entries TEXT NOT NULL)`,
  `INSERT INTO inflight_set (id, entries) SELECT 1, COALESCE(json_group_array(json_array(job_id, attempt, dispatched_at)), '[]') FROM inflight`,
  `DROP TABLE inflight`,
];
