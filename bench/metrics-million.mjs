// Metrics at a million jobs: seeds (or reuses) a local D1 with 1,000,000 jobs and their rollups,
// starts `wrangler dev` on it, and times every metrics endpoint, /metrics and the job lists.
//
//   node bench/metrics-million.mjs [--requests=30] [--reseed] [--jobs=1000000] [--persist-to=bench/.state/million]
//
// Prints one JSON line per endpoint (median, p95, min, max in ms over sequential requests after a
// warm-up), checks that the metrics agree with counts over the jobs table, and writes everything
// to bench/results/metrics-million-<time>.json.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const REQUESTS = Number(arg("requests", 30));
const WARMUP = 3;
const JOBS = Number(arg("jobs", 1_000_000));
const PERSIST = resolve(arg("persist-to", "bench/.state/million"));
const TOKEN = `bench-${crypto.randomUUID()}`;

const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

if (process.argv.includes("--reseed") || !existsSync(`${PERSIST}/v3/d1`)) {
  const seeded = spawnSync("node", ["bench/seed-million.mjs", `--jobs=${JOBS}`, `--persist-to=${PERSIST}`], { env, stdio: ["ignore", "inherit", "inherit"] });
  if (seeded.status !== 0) process.exit(seeded.status ?? 1);
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dev = spawn(
  "npx",
  ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", PERSIST, "--inspector-port", String(await freePort()), "--log-level", "warn", "--show-interactive-dev-session=false", "--var", `ADMIN_TOKEN:${TOKEN}`],
  { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
);
let devOutput = "";
dev.stdout.on("data", (d) => (devOutput += d));
dev.stderr.on("data", (d) => (devOutput += d));
const stop = () => {
  try {
    process.kill(-dev.pid, "SIGTERM");
  } catch {}
};
process.on("exit", stop);

for (const deadline = Date.now() + 90_000; ; ) {
  if (dev.exitCode != null) throw new Error(`wrangler dev exited:\n${devOutput}`);
  try {
    if ((await fetch(`${base}/api/tickerq/health`)).ok) break;
  } catch {}
  if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${devOutput}`);
  await new Promise((r) => setTimeout(r, 250));
}

const headers = { authorization: `Bearer ${TOKEN}` };
async function request(path, body) {
  const init = body === undefined ? { headers } : { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return { text, json: () => JSON.parse(text) };
}

const DAY = 86_400_000;
const now = Date.now();
const isoAgo = (days) => new Date(now - days * DAY).toISOString();
const grafanaBody = {
  range: { from: isoAgo(30), to: new Date(now).toISOString(), raw: { from: "now-30d", to: "now" } },
  interval: "1h",
  intervalMs: 3_600_000,
  maxDataPoints: 1000,
  targets: [
    { target: "jobs_finished", refId: "A" },
    { target: "success_rate", refId: "B", payload: { queue: "emails" } },
    { target: "jobs_failed", refId: "C", payload: { groupBy: "type" } },
  ],
};

const scenarios = [
  ["GET /metrics/system", "/api/tickerq/metrics/system"],
  ["GET /metrics/performance (7 days, daily)", "/api/tickerq/metrics/performance"],
  ["GET /metrics/performance (30 days, daily)", `/api/tickerq/metrics/performance?from=${isoAgo(30)}`],
  ["GET /metrics/performance (7 days, hourly, one queue)", `/api/tickerq/metrics/performance?from=${isoAgo(7)}&granularity=hour&queue=emails`],
  ["GET /metrics/job-types (all time)", "/api/tickerq/metrics/job-types"],
  ["GET /metrics/job-types (30 days)", `/api/tickerq/metrics/job-types?from=${isoAgo(30)}`],
  ["GET /metrics (Prometheus)", "/metrics"],
  ["POST /grafana/query (30 days, 3 targets)", "/api/tickerq/grafana/query", grafanaBody],
  ["GET /export/history (30 days, daily CSV)", `/api/tickerq/export/history?startTime=${isoAgo(30)}`],
  ["GET /jobs?status=failed&limit=50", "/api/tickerq/jobs?status=failed&limit=50"],
  ["GET /jobs (with totalCount)", "/api/tickerq/jobs"],
];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const results = [];
for (const [name, path, body] of scenarios) {
  for (let i = 0; i < WARMUP; i++) await request(path, body);
  const times = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await request(path, body);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const r = { scenario: name, requests: REQUESTS, median_ms: +percentile(times, 50).toFixed(1), p95_ms: +percentile(times, 95).toFixed(1), min_ms: +times[0].toFixed(1), max_ms: +times.at(-1).toFixed(1) };
  results.push(r);
  console.log(JSON.stringify(r));
}

// The metrics must agree with counts over the jobs table (seeded rollups follow the engine's rules).
const count = async (q) => (await request(`/api/tickerq/jobs?limit=1&${q}`)).json().totalCount;
const types = (await request("/api/tickerq/metrics/job-types")).json().jobTypes;
const system = (await request("/api/tickerq/metrics/system")).json();
const checks = {
  totalJobs: [system.totalJobs, await count("")],
  completed: [types.reduce((a, t) => a + t.successfulExecutions, 0), await count("status=completed")],
  failed: [types.reduce((a, t) => a + t.failedExecutions, 0), await count("status=failed")],
  cancelled: [types.reduce((a, t) => a + t.cancelledExecutions, 0), await count("status=cancelled")],
  queueLength: [system.queueLength, await count("status=pending")],
  activeWorkers: [system.activeWorkers, await count("status=running")],
  failureReasons: [types.reduce((a, t) => a + t.failureReasons.reduce((b, r) => b + r.count, 0), 0), await count("status=failed")],
};
const consistent = Object.values(checks).every(([a, b]) => a === b);
console.log(JSON.stringify({ consistency: consistent, checks }));

mkdirSync("bench/results", { recursive: true });
const file = `bench/results/metrics-million-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ jobs: JOBS, requests: REQUESTS, results, consistency: { consistent, checks } }, null, 2));
console.log(`wrote ${file}`);
stop();
process.exit(consistent ? 0 : 1);
