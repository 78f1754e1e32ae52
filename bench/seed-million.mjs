// Seeds a local D1 state directory with N finished and waiting jobs (default 1,000,000) plus the
// metrics rollups that the engine would have written for them, so metrics can be benchmarked at scale.
//
//   node bench/seed-million.mjs [--jobs=1000000] [--days=30] [--persist-to=bench/.state/million]
//
// Rows are generated inside SQLite (a recursive CTE), not shipped from Node, so 1M jobs take about a
// minute. The rollups are derived from the seeded rows with the same rules as src/metrics/rollup-sink.ts
// (hour of completion, final-attempt duration of completed and failed jobs, normalised failure reasons),
// so every metric must agree with a count over the jobs table.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const JOBS = Number(arg("jobs", 1_000_000));
const DAYS = Number(arg("days", 30));
const PERSIST = resolve(arg("persist-to", "bench/.state/million"));
const PENDING = Math.min(10_000, Math.floor(JOBS / 100));
const RUNNING = Math.min(40, Math.floor(JOBS / 1000));

// Must match DURATION_BUCKETS_SECONDS in src/metrics/histogram.ts (bench/metrics-million.mjs checks it against /metrics).
const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
// Raw error (printf pattern over i) and the reason normalizeFailureReason() gives for it.
const FAILURES = [
  ["HTTP 503 from https://api.example.com/v1/orders/%d", "HTTP 503 from https://api.example.com"],
  ["Timed out after 30 s.", "Timed out after <n> s."],
  ["echo failed on request (attempt %d)", "echo failed on request (attempt <n>)"],
  ["connect ECONNREFUSED 10.0.0.7:5432", "connect ECONNREFUSED <address>"],
  ["The worker running this attempt stopped responding (lease expired).", "The worker running this attempt stopped responding (lease expired)."],
];
const QUEUES = ["default", "emails", "reports", "billing"];
const TYPES = ["echo", "http", "word-count"];

const now = Date.now();
const start = now - DAYS * 86_400_000;
// Finished jobs are spread evenly up to a minute ago; the waiting ones were created in the last minutes.
const step = Math.max(1, Math.floor((now - 60_000 - start) / (JOBS - PENDING)));
const quote = (v) => `'${v.replaceAll("'", "''")}'`;
const caseOf = (expr, values) => `CASE ${expr} ${values.map((v, i) => `WHEN ${i} THEN ${v}`).join(" ")} END`;
const rawError = ([raw]) => (raw.includes("%d") ? `printf(${quote(raw)}, i)` : quote(raw));
const matchesError = ([raw]) => (raw.includes("%d") ? `error LIKE ${quote(`${raw.split("%d")[0]}%`)}` : `error = ${quote(raw)}`);
const bucketCase = (d) => `CASE ${DURATION_BUCKETS_SECONDS.map((b, i) => `WHEN ${d} <= ${b * 1000} THEN ${i}`).join(" ")} ELSE -1 END`;
const buckets = DURATION_BUCKETS_SECONDS.map((_, i) => `b${i}`);

const sql = `
INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, result, error, run_at, attempt, retry_count, max_retries,
  timeout_ms, cancel_requested, lease_until, created_at, updated_at, executed_at, completed_at)
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${JOBS - 1}),
r AS (
  SELECT i, (i * 2654435761) % 4294967296 AS h,
    CASE WHEN i >= ${JOBS - PENDING} THEN ${now} - (${JOBS} - i) * 50 ELSE ${start} + i * ${step} END AS t,
    CASE WHEN i >= ${JOBS - PENDING} THEN 'pending' WHEN i >= ${JOBS - PENDING - RUNNING} THEN 'running'
         WHEN (i * 40503) % 100 < 5 THEN 'failed' WHEN (i * 40503) % 100 < 6 THEN 'cancelled' ELSE 'completed' END AS status
  FROM n
),
d AS (SELECT *, CASE WHEN h % 50 = 0 THEN 1000 + h % 120000 ELSE 2 + (h / 7) % 900 END AS duration, (h / 11) % 100 < 3 AS retried FROM r)
SELECT printf('job_seed%08d', i),
  ${caseOf("(h / 101) % 4", QUEUES.map(quote))},
  ${caseOf("(h / 409) % 3", TYPES.map(quote))},
  printf('Seeded job %d', i),
  status,
  1,
  '{}',
  CASE status WHEN 'completed' THEN '{"ok":true}' END,
  CASE status WHEN 'failed' THEN ${caseOf("(h / 13) % 5", FAILURES.map(rawError))}
              WHEN 'cancelled' THEN 'Cancelled while running.' END,
  CASE status WHEN 'pending' THEN ${now} + (i % 2) * (i % 86400) * 1000 - 30000 ELSE t END,
  CASE status WHEN 'pending' THEN retried ELSE 1 + retried END,
  retried,
  3,
  NULL,
  0,
  CASE status WHEN 'running' THEN ${now} + 600000 END,
  t,
  t,
  CASE WHEN status IN ('completed', 'failed', 'cancelled', 'running') THEN t + 20 END,
  CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN t + 20 + duration END
FROM d;

INSERT INTO job_rollups (hour, queue, type, completed, failed, cancelled, retried, timed, duration_ms, ${buckets.join(", ")})
SELECT (completed_at / 3600000) * 3600000, queue, type,
  SUM(status = 'completed'), SUM(status = 'failed'), SUM(status = 'cancelled'), SUM(retry_count),
  SUM(status IN ('completed', 'failed')), SUM(CASE WHEN status IN ('completed', 'failed') THEN completed_at - executed_at ELSE 0 END),
  ${buckets.map((_, i) => `SUM(status IN ('completed', 'failed') AND ${bucketCase("completed_at - executed_at")} = ${i})`).join(",\n  ")}
FROM jobs WHERE id LIKE 'job_seed%' AND status IN ('completed', 'failed', 'cancelled')
GROUP BY 1, 2, 3;

INSERT INTO job_totals (queue, type, completed, failed, cancelled, retried, timed, duration_ms, ${buckets.join(", ")})
SELECT queue, type, SUM(completed), SUM(failed), SUM(cancelled), SUM(retried), SUM(timed), SUM(duration_ms), ${buckets.map((b) => `SUM(${b})`).join(", ")}
FROM job_rollups GROUP BY queue, type;

INSERT INTO job_failure_reasons (hour, queue, type, reason, count)
SELECT (completed_at / 3600000) * 3600000, queue, type,
  CASE ${FAILURES.map((f) => `WHEN ${matchesError(f)} THEN ${quote(f[1])}`).join(" ")} END, COUNT(*)
FROM jobs WHERE id LIKE 'job_seed%' AND status = 'failed'
GROUP BY 1, 2, 3, 4;

INSERT INTO job_failure_reason_totals (queue, type, reason, count)
SELECT queue, type, reason, SUM(count) FROM job_failure_reasons GROUP BY 1, 2, 3;

-- What the archive flushes keep up to date: finished counts per queue and status, and every queue's row.
-- The waiting and running rows are the kind the previous engine left in D1: their queues' objects import them.
INSERT INTO job_counts (queue, status, n)
SELECT queue, status, COUNT(*) FROM jobs WHERE id LIKE 'job_seed%' AND status IN ('completed', 'failed', 'cancelled') GROUP BY 1, 2
ON CONFLICT (queue, status) DO UPDATE SET n = job_counts.n + excluded.n;
INSERT OR IGNORE INTO queues (name, created_at, updated_at) SELECT queue, MIN(created_at), MAX(updated_at) FROM jobs GROUP BY queue;

PRAGMA optimize;
`;

const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true" };
const run = (args) => {
  const r = spawnSync("npx", ["wrangler", ...args], { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
};

rmSync(PERSIST, { recursive: true, force: true });
mkdirSync(PERSIST, { recursive: true });
const file = join(PERSIST, "seed.sql");
writeFileSync(file, sql);
const t0 = Date.now();
run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", PERSIST]);
run(["d1", "execute", "DB", "--local", "--persist-to", PERSIST, "--file", file, "--yes"]);
rmSync(file);
console.log(JSON.stringify({ seeded: JOBS, pending: PENDING, running: RUNNING, days: DAYS, persistTo: PERSIST, seconds: (Date.now() - t0) / 1000 }));
