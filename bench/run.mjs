#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --peers] [-- --cost | --latency]`: the platform floor and the scheduler's figures under the
// same local runtime (bench/lib/dev-worker.mjs: `wrangler dev`'s, without its DevTools inspector unless
// BENCH_INSPECTOR=on), each API figure also as a ratio to the floor, the operations a job costs, and
// with --peers BullMQ on the same machine. One JSON object per scenario on stdout; all of them in
// bench/results/<date>.json. --cost runs only the cost block (the metered server, both creation
// modes), prints its rows and exits.
import autocannon from "autocannon";
import { execSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { costPerMillion } from "./lib/cost.mjs";
import { inspectorOn, sleep, startDevServer } from "./lib/dev-server.mjs";

const { values: opts } = parseArgs({ options: { quick: { type: "boolean", default: false }, peers: { type: "boolean", default: false }, cost: { type: "boolean", default: false }, latency: { type: "boolean", default: false } } });
const Q = opts.quick;
const COST_ONLY = opts.cost;
// --latency: only the pickup and delayed-lateness scenarios (4 and 5).
const LATENCY_ONLY = opts.latency;
const RUNS = Q ? 1 : 3;
const DURATION = Q ? 3 : 10;
const E2E_JOBS = Q ? 2_000 : 20_000;
const PICKUP_JOBS = Q ? 300 : 2_000;
const COST_JOBS = Q ? 500 : 2_000;
const results = [];

/** Every workerd process on the machine. */
function workerdPs() {
  return execSync("ps -eo pgid=,pid=,rss=,pcpu=,comm=", { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, , , , comm]) => /workerd/.test(comm ?? ""))
    .map(([pgid, pid, rss, pcpu]) => ({ pgid: Number(pgid), pid: Number(pid), rssKb: Number(rss), cpuPercent: Number(pcpu) }));
}

// Every figure here is CPU-bound on 2 cores: a dev server left running elsewhere (a crashed run's
// workerd can spin at ~40% of a core while idle) halves them. Counted and reported, not killed.
const strayWorkerd = workerdPs();
if (strayWorkerd.length) console.error(`warning: ${strayWorkerd.length} workerd process(es) already running (${strayWorkerd.map((p) => `pid ${p.pid} at ${p.cpuPercent}% CPU`).join(", ")}); the figures will be low`);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs) => pct([...xs].sort((a, b) => a - b), 50);
function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  return { count: v.length, median: pct(v, 50), p95: pct(v, 95), p99: pct(v, 99), min: v[0], max: v[v.length - 1] };
}
function emit(name, figures) {
  const row = { scenario: name, runs: RUNS, ...figures };
  results.push(row);
  console.log(JSON.stringify(row));
}

async function load(url, init = {}) {
  const r = await autocannon({ url, connections: 50, duration: DURATION, ...init });
  return { rps: r.requests.average, non2xx: r.non2xx, p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99 };
}

/** The workerd processes started by this dev server's process group. */
const workerdProcesses = (pgid) => workerdPs().filter((p) => p.pgid === pgid);

/** RSS in MB of every workerd process of the dev server. */
const workerdRssMb = (pgid) => workerdProcesses(pgid).reduce((mb, p) => mb + p.rssKb / 1024, 0);

/** CPU time (user + system) in ms used so far by these processes (clock ticks of 10 ms). */
function cpuMs(pids) {
  return pids.reduce((ms, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return ms + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return ms;
    }
  }, 0);
}
/** The Worker's runtime only: both workerd processes. */
const workerdCpuMs = (pgid) => cpuMs(workerdProcesses(pgid).map((p) => p.pid));
/** Everything the dev server runs: its Node process, esbuild and both workerd processes. */
const devServerCpuMs = (pgid) =>
  cpuMs(
    execSync("ps -eo pgid=,pid=", { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter(([g]) => g === pgid)
      .map(([, pid]) => pid),
  );

// 1. Floor: one D1 insert, one DO RPC, one Queue send per request.
async function measureFloor() {
  const floor = await startDevServer({ config: "bench/floor/wrangler.toml" });
  const floorRuns = [];
  try {
    await load(`${floor.url}/all`, { duration: 2 });
    for (let i = 0; i < RUNS; i++) floorRuns.push(await load(`${floor.url}/all`));
  } finally {
    await floor.stop();
  }
  const rps = median(floorRuns.map((r) => r.rps));
  emit("floor", { rate: rps, median: median(floorRuns.map((r) => r.p50)), p97_5: median(floorRuns.map((r) => r.p97_5)), p99: median(floorRuns.map((r) => r.p99)), unit: "req/s; latency ms" });
  return rps;
}
const floorRps = COST_ONLY || LATENCY_ONLY ? null : await measureFloor();

/** The API of one dev server, with the waits and read-backs the scenarios share. */
function clientFor(srv) {
  const headers = { authorization: `Bearer ${srv.token}`, "content-type": "application/json" };
  const api = async (path, body, method) => {
    const res = await fetch(`${srv.url}/api/tickerq${path}`, { method: method ?? (body ? "POST" : "GET"), headers, body: body ? JSON.stringify(body) : undefined });
    const json = res.status === 204 ? null : await res.json();
    if (res.status >= 400) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const exportRows = async (queue) => {
    const text = await (await fetch(`${srv.url}/api/tickerq/export/jobs?format=ndjson&queue=${queue}`, { headers })).text();
    return text.trim() ? text.trim().split("\n").map((l) => JSON.parse(l)) : [];
  };
  const waitUntilDone = async (queue) => {
    for (const t0 = Date.now(); Date.now() - t0 < 30 * 60_000; await sleep(250)) {
      const [p, r] = await Promise.all([api(`/jobs?queue=${queue}&status=pending&limit=1`), api(`/jobs?queue=${queue}&status=running&limit=1`)]);
      if (p.totalCount + r.totalCount === 0) return;
    }
    throw new Error(`queue ${queue} did not drain in 30 minutes`);
  };
  return { headers, api, exportRows, waitUntilDone };
}

// Cost, before the load scenarios leave the machine busy: every billable operation the Worker
// performs, counted by the benchmark's metered Worker (src/metering/bench-entry.ts) on a server of
// its own (the counting wrappers would slow the other figures), for simple jobs created in batches
// of 100 and one by one; workerd's CPU time per job bounds Workers CPU from above. Then the
// retention purge of every job made here, metered, and the D1 bytes the jobs occupy until it runs.
const ours = {};
const RETENTION_DAYS = 30;
if (!LATENCY_ONLY) {
  const metered = await startDevServer({ script: "src/metering/bench-entry.ts", vars: { RETENTION_DAYS: String(RETENTION_DAYS) } });
  try {
    const m = clientFor(metered);
    const runs = { "batch-100": [], single: [] };
    for (const mode of Object.keys(runs)) {
      for (let run = 0; run < RUNS; run++) {
        const queue = `bench-cost-${mode}-${run}`;
        await m.api(`/queues/${queue}`, { workers: 50 }, "PATCH");
        // Nothing is deleted until the purge below, so the database only grows by what the jobs add.
        const sizeBefore = (await m.api("/_meter")).d1SizeBytes;
        await m.api("/_meter", null, "DELETE");
        const cpu0 = workerdCpuMs(metered.pid);
        const t0 = Date.now();
        if (mode === "batch-100") {
          for (let b = 0; b < COST_JOBS / 100; b++) await m.api("/jobs/batch", { jobs: Array.from({ length: 100 }, () => ({ type: "echo", queue })) });
        } else {
          for (let i = 0; i < COST_JOBS; i += 20) await Promise.all(Array.from({ length: 20 }, () => m.api("/jobs", { type: "echo", queue })));
        }
        await m.waitUntilDone(queue);
        const seconds = (Date.now() - t0) / 1000;
        // Finished jobs reach D1 with their queue object's next archive flush (within about a second):
        // counted once D1 writes have stopped.
        for (let last = -1; ; await sleep(1500)) {
          const written = (await m.api("/_meter")).d1RowsWritten;
          if (written === last) break;
          last = written;
        }
        const counts = await m.api("/_meter");
        const cpuMsPerJob = (workerdCpuMs(metered.pid) - cpu0) / COST_JOBS;
        runs[mode].push({ counts, seconds, cpuMsPerJob, storageBytesPerJob: (counts.d1SizeBytes - sizeBefore) / COST_JOBS });
      }
    }
    await m.api("/_meter", null, "DELETE");
    const purged = await m.api("/_meter/purge", { maxRounds: 1000 });
    const purge = await m.api("/_meter");
    const purgePerJob = { d1RowsRead: purge.d1RowsRead / purged.deleted, d1RowsWritten: purge.d1RowsWritten / purged.deleted, d1Queries: purge.d1Queries / purged.deleted };
    emit("retention-purge", { jobsDeleted: purged.deleted, perJob: purgePerJob, doStorageBytes: purge.doSizeBytes, unit: "D1 rows per job deleted; doStorageBytes: every Durable Object's SQLite size at the end" });
    for (const [mode, perMode] of Object.entries(runs)) {
      // DO duration bound: the queue's scheduler and the realtime hub active for the whole run.
      const perRun = perMode.map((r) => costPerMillion(r.counts, COST_JOBS, r.seconds * 2, r.cpuMsPerJob, { purgePerJob, storageBytesPerJob: r.storageBytesPerJob, days: RETENTION_DAYS }));
      const mid = perRun.toSorted((a, b) => a.totalUsdPerMillion - b.totalUsdPerMillion)[Math.floor(perRun.length / 2)];
      ours[`cost-${mode}`] = mid.totalUsdPerMillion;
      emit(`cost-per-million-${mode}`, { count: COST_JOBS, ...mid, runsUsdPerMillion: perRun.map((r) => r.totalUsdPerMillion), unit: `USD per million simple jobs (Workers Paid, beyond inclusions; kept ${RETENTION_DAYS} days)` });
    }
  } finally {
    await metered.stop();
  }
}
if (COST_ONLY) process.exit(0);

const server = await startDevServer();
const { headers, api, exportRows, waitUntilDone } = clientFor(server);
try {
  if (!LATENCY_ONLY) {
    // 2. Create: single POST /jobs at 50 connections (jobs a day out, so only creation is measured), then batches of 1,000.
    const createBody = JSON.stringify({ type: "echo", delay: "1.00:00:00", queue: "bench-create" });
    await load(`${server.url}/api/tickerq/jobs`, { method: "POST", headers, body: createBody, duration: 2 });
    const createRuns = [];
    for (let i = 0; i < RUNS; i++) createRuns.push(await load(`${server.url}/api/tickerq/jobs`, { method: "POST", headers, body: createBody }));
    const createRps = median(createRuns.map((r) => r.rps));
    ours.createSingle = createRps;
    emit("create-single-c50", {
      rate: createRps,
      ratioToFloor: createRps / floorRps,
      median: median(createRuns.map((r) => r.p50)),
      p97_5: median(createRuns.map((r) => r.p97_5)),
      p99: median(createRuns.map((r) => r.p99)),
      non2xx: createRuns.reduce((n, r) => n + r.non2xx, 0),
      unit: "req/s; latency ms",
    });

    const batchRates = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      for (let b = 0; b < 10; b++) await api("/jobs/batch", { jobs: Array.from({ length: 1000 }, () => ({ type: "echo", delay: "1.00:00:00", queue: "bench-create" })) });
      batchRates.push(10_000 / ((performance.now() - t0) / 1000));
    }
    ours.createBatch = median(batchRates);
    emit("create-batch-1000", { rate: median(batchRates), ratioToFloor: median(batchRates) / floorRps, runs: batchRates, unit: "jobs/s" });
    await api("/queues/bench-create/clear", { clearPending: true });

    // 3. End to end: N echo jobs in batches of 1,000 on a queue with 50 workers.
    const rssBefore = workerdRssMb(server.pid);
    const e2eRates = [];
    // workerd's CPU per job of the unmetered server, from first create to last completion: the
    // Worker, its Durable Objects, and local D1 and Queues, which all run on workerd's one thread.
    const e2eCpu = [];
    let e2eCheck = null;
    for (let run = 0; run < RUNS; run++) {
      const queue = `bench-e2e-${run}`;
      await api(`/queues/${queue}`, { workers: 50 }, "PATCH");
      const cpu0 = workerdCpuMs(server.pid);
      const t0 = Date.now();
      for (let b = 0; b < E2E_JOBS / 1000; b++) await api("/jobs/batch", { jobs: Array.from({ length: 1000 }, (_, i) => ({ type: "echo", parameters: { message: b * 1000 + i }, queue })) });
      for (;;) {
        const done = await api(`/jobs?queue=${queue}&status=completed&limit=1`);
        if (done.totalCount >= E2E_JOBS) break;
        if (Date.now() - t0 > 30 * 60_000) throw new Error("end-to-end run did not finish in 30 minutes");
        await sleep(250);
      }
      e2eCpu.push((workerdCpuMs(server.pid) - cpu0) / E2E_JOBS);
      const last = (await api(`/jobs?queue=${queue}&status=completed&limit=1`)).jobs[0];
      const lastCompletion = Math.max(Date.parse(last.completedAt), Date.now() - 250);
      e2eRates.push(E2E_JOBS / ((lastCompletion - t0) / 1000));
      // Every job: exactly one attempt, one terminal state.
      const rows = await exportRows(queue);
      e2eCheck = { jobs: rows.length, completed: rows.filter((r) => r.status === "completed").length, notExactlyOneAttempt: rows.filter((r) => r.attempts !== 1).length };
    }
    const rssAfter = workerdRssMb(server.pid);
    ours.endToEnd = median(e2eRates);
    emit("end-to-end", {
      count: E2E_JOBS,
      rate: median(e2eRates),
      ratioToFloor: median(e2eRates) / floorRps,
      runs: e2eRates,
      workerdCpuMsPerJob: Math.round(median(e2eCpu) * 1000) / 1000,
      check: e2eCheck,
      unit: "completed jobs/s, first create to last completion; workerdCpuMsPerJob: unmetered, batches of 1,000",
    });
    emit("memory", { workerdRssMbBefore: Math.round(rssBefore), workerdRssMbAfter: Math.round(rssAfter), around: "end-to-end" });
  }

  // 4. Pickup latency: immediate jobs at 100/s, open loop; handler start minus the create call.
  // Also at 25/s, and the dev server's CPU per job, to show how much of it is queueing on 2 cores.
  for (const [rate, jobs, name] of [[100, PICKUP_JOBS, "pickup-latency"], [25, PICKUP_JOBS / 4, "pickup-latency-25-per-s"]]) {
    const pickup = [];
    let cpuMsPerJob = 0;
    let failed = 0;
    // Why each failed create failed: the status and body, or the connection error.
    const failures = {};
    for (let run = 0; run < RUNS; run++) {
      const queue = `bench-pickup-${rate}-${run}`;
      const sent = [];
      const calls = [];
      const cpu0 = devServerCpuMs(server.pid);
      const t0 = performance.now();
      for (let i = 0; i < jobs; i++) {
        const wait = t0 + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        const at = Date.now();
        // Over capacity the dev server's proxy drops requests: those are counted, not fatal.
        const create = fetch(`${server.url}/api/tickerq/jobs`, { method: "POST", headers, body: JSON.stringify({ type: "echo", queue }) });
        const fail = (why) => {
          failed++;
          failures[why] = (failures[why] ?? 0) + 1;
        };
        calls.push(
          create.then(
            async (r) => (r.status === 201 ? sent.push({ id: (await r.json()).id, at }) : fail(`HTTP ${r.status}: ${(await r.text()).slice(0, 200)}`)),
            (err) => fail(String(err?.cause?.code ?? err?.cause?.message ?? err)),
          ),
        );
      }
      await Promise.all(calls);
      await waitUntilDone(queue);
      cpuMsPerJob += (devServerCpuMs(server.pid) - cpu0) / jobs / RUNS;
      const byId = new Map((await exportRows(queue)).map((r) => [r.id, Date.parse(r.executedAt)]));
      for (const s of sent) pickup.push(byId.get(s.id) - s.at);
    }
    if (rate === 100) ours.pickupP50 = summary(pickup).median;
    emit(name, { ...summary(pickup), rate, failedCreates: failed, failures, devServerCpuMsPerJob: Math.round(cpuMsPerJob * 10) / 10, unit: "ms, handler start minus create call; rate jobs/s offered" });
  }

  // 5. Delayed lateness: 1,000 due in the same second and 500 spread over 1-3 s; start minus run_at.
  const lateness = [];
  const seen = new Set();
  let early = 0;
  for (let run = 0; run < RUNS; run++) {
    const at = new Date(Math.ceil((Date.now() + 5000) / 1000) * 1000).toISOString();
    await api("/jobs/batch", { jobs: Array.from({ length: 1000 }, () => ({ type: "echo", executeAt: at, queue: "bench-late" })) });
    const spread = Array.from({ length: 500 }, (_, i) => ({ type: "echo", delay: `00:00:0${1 + Math.floor((i / 500) * 2)}.${String((i * 7) % 1000).padStart(3, "0")}`, queue: "bench-late" }));
    await api("/jobs/batch", { jobs: spread });
    await api("/queues/bench-late", { workers: 100 }, "PATCH");
    await waitUntilDone("bench-late");
    // The queue keeps the completed jobs of earlier runs: count each job once.
    for (const r of await exportRows("bench-late")) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const late = Date.parse(r.executedAt) - Date.parse(r.scheduledAt);
      if (late < 0) early++;
      lateness.push(late);
    }
    await api("/queues/bench-late/clear", { clearPending: true, clearFailed: true });
  }
  ours.latenessP99 = summary(lateness).p99;
  emit("delayed-lateness", { ...summary(lateness), early, unit: "ms, handler start minus run_at" });
} finally {
  await server.stop();
}

// --peers: BullMQ + Redis on the same machine, same scenarios.
if (opts.peers) {
  const { runBullmqPeer } = await import("./peers/bullmq.mjs");
  const peer = await runBullmqPeer({ quick: Q });
  emit("peer-bullmq", {
    ...peer,
    oursOverBullmq: {
      createSingle: ours.createSingle / peer.createSingleC50,
      createBatch: ours.createBatch / peer.createBulk1000,
      endToEnd: ours.endToEnd / peer.endToEnd,
      pickupP50: ours.pickupP50 / peer.pickup.median,
      latenessP99: ours.latenessP99 / peer.delayedLateness.p99,
    },
    unit: "peer figures as its bench prints them; oursOverBullmq: rates (above 1 is faster) and latencies (above 1 is slower)",
  });
}

mkdirSync("bench/results", { recursive: true });
const file = `bench/results/${new Date().toISOString().slice(0, 19).replace(/:/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ machine: { cpus: (await import("node:os")).cpus().length, node: process.version, strayWorkerdAtStart: strayWorkerd.length, devToolsInspector: inspectorOn }, quick: Q, results }, null, 2));
console.error(`written to ${file}`);
