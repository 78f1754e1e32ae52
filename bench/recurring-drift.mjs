#!/usr/bin/env node
// How late an every-second (6-field) recurring job starts compared to its slot, on a real
// `wrangler dev` (same flags as test/e2e/dev-server.ts). Prints one JSON object.
//   node bench/recurring-drift.mjs [runs=60]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = Number(process.argv[2] ?? 60);
const WARMUP = 3;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startDevServer() {
  const persistDir = mkdtempSync(join(tmpdir(), "edge-ticker-bench-"));
  const token = `bench-${crypto.randomUUID()}`;
  const port = await freePort();
  const migrated = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], { env, encoding: "utf8" });
  if (migrated.status !== 0) throw new Error(`migrations failed: ${migrated.stderr || migrated.stdout}`);
  const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistDir, "--inspector-port", String(await freePort()), "--log-level", "warn", "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries({ ADMIN_TOKEN: token, ALLOW_PRIVATE_TARGETS: "true" })) args.push("--var", `${k}:${v}`);
  const child = spawn("npx", args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode != null) throw new Error(`wrangler dev exited:\n${output}`);
    try {
      if ((await fetch(`${url}/api/tickerq/health`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`wrangler dev did not become healthy:\n${output}`);
    await sleep(200);
  }
  const stop = async () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(10_000)]);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    rmSync(persistDir, { recursive: true, force: true });
  };
  return { url, token, stop };
}

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { median: v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2, p90: q(0.9), worst: v[v.length - 1], best: v[0] };
}

const server = await startDevServer();
try {
  const call = async (path, body, method) => {
    const res = await fetch(`${server.url}/api/tickerq${path}`, {
      method: method ?? (body ? "POST" : "GET"),
      headers: { authorization: `Bearer ${server.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.status === 204 ? null : res.json();
  };
  const def = await call("/jobs/recurring", { type: "echo", name: "drift", cronExpression: "* * * * * *", parameters: { message: "tick" }, overlapPolicy: "allow", missedRunPolicy: "skip", queue: "drift" });
  const wanted = RUNS + WARMUP;
  const deadline = Date.now() + (wanted + 60) * 1000;
  let jobs = [];
  for (;;) {
    jobs = (await call(`/jobs?recurringId=${def.id}&limit=500`)).jobs.filter((j) => j.scheduledFor && j.executedAt);
    if (jobs.length >= wanted || Date.now() > deadline) break;
    await sleep(1000);
  }
  await call(`/jobs/recurring/${def.id}`, undefined, "DELETE");
  const measured = jobs.sort((a, b) => Date.parse(a.scheduledFor) - Date.parse(b.scheduledFor)).slice(WARMUP, WARMUP + RUNS);
  const first = Date.parse(measured[0].scheduledFor);
  const last = Date.parse(measured.at(-1).scheduledFor);
  console.log(
    JSON.stringify(
      {
        benchmark: "recurring every-second job: actual start vs slot on wrangler dev",
        runs: measured.length,
        slotsInWindow: (last - first) / 1000 + 1,
        startDriftMs: stats(measured.map((j) => Date.parse(j.executedAt) - Date.parse(j.scheduledFor))),
        fireLagMs: stats(measured.map((j) => Date.parse(j.createdAt) - Date.parse(j.scheduledFor))),
      },
      null,
      2,
    ),
  );
} finally {
  await server.stop();
}
