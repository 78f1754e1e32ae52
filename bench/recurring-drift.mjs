#!/usr/bin/env node
// How late an every-second (6-field) recurring job starts compared to its slot, on a real
// `wrangler dev` (same flags as test/e2e/dev-server.ts). Prints one JSON object.
//   node bench/recurring-drift.mjs [runs=60]
import { sleep, startDevServer } from "./lib/dev-server.mjs";

const RUNS = Number(process.argv[2] ?? 60);
const WARMUP = 3;

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
