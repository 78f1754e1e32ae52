#!/usr/bin/env node
// BullMQ + Redis on this machine, in the same five scenarios as bench/run.mjs, for `bench/run.mjs --peers`.
// `node bench/peers/bullmq.mjs [--quick]` prints the figures as one JSON line.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// Pinned so runs stay comparable; installed outside package.json because BullMQ's optional native deps break `npm ci`.
const BULLMQ = "6.7.0";
const IOREDIS = "5.11.1";
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PEERS = fileURLToPath(new URL("../.peers/", import.meta.url));
const HOST = "127.0.0.1";

const installed = (pkg) => {
  try {
    return JSON.parse(readFileSync(`${PEERS}node_modules/${pkg}/package.json`, "utf8")).version;
  } catch {
    return null;
  }
};

/** Runs a setup command with its output on stderr, so the CLI's stdout stays one JSON line. */
function run(cmd, args, env = {}) {
  return spawnSync(cmd, args, { cwd: REPO, stdio: ["ignore", 2, 2], env: { ...process.env, ...env }, timeout: 10 * 60_000 }).status === 0;
}

function ensureInstalled() {
  if (installed("bullmq") !== BULLMQ || installed("ioredis") !== IOREDIS) {
    if (!run("npm", ["install", "--prefix", "bench/.peers", "--no-audit", "--no-fund", "--no-save", `bullmq@${BULLMQ}`, `ioredis@${IOREDIS}`])) throw new Error("npm install of bullmq/ioredis into bench/.peers failed");
  }
  if (spawnSync("redis-server", ["--version"]).error) {
    const apt = () => run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "redis-server"], { DEBIAN_FRONTEND: "noninteractive" });
    if (!apt() && !(run("apt-get", ["update", "-qq"]) && apt())) throw new Error("apt-get install redis-server failed");
  }
}

const freePort = () =>
  new Promise((ok, fail) => {
    const s = createServer().once("error", fail);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

async function within(ms, label, promise) {
  let timer;
  const timeout = new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`${label}: no result within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function deferred() {
  let resolve, reject;
  const promise = new Promise((ok, fail) => ((resolve = ok), (reject = fail)));
  return { promise, resolve, reject };
}

/** A private, non-persisting redis-server on a free loopback port. */
async function startRedis() {
  const port = await freePort();
  const child = spawn("redis-server", ["--bind", HOST, "--port", String(port), "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((ok) => child.once("exit", ok));
  // If this process dies mid-run, the server must not outlive it.
  const killNow = () => child.kill("SIGKILL");
  process.once("exit", killNow);
  const stop = async () => {
    process.off("exit", killNow);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if ((await Promise.race([exited.then(() => true), sleep(5000, false)])) === false) killNow();
    await exited;
  };
  let log = "";
  const ready = new Promise((ok, fail) => {
    child.stdout.on("data", (d) => {
      if (log.length < 10_000) log += d;
      if (log.includes("Ready to accept connections")) ok();
    });
    child.once("error", fail);
    exited.then((code) => fail(new Error(`redis-server exited (${code}): ${log.slice(-500)}`)));
  });
  try {
    await within(10_000, "redis-server start", ready);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, stop };
}

function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  const pct = (p) => v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
  return { count: v.length, median: pct(50), p95: pct(95), p99: pct(99) };
}

export async function runBullmqPeer({ quick = false } = {}) {
  ensureInstalled();
  const require = createRequire(`${PEERS}package.json`);
  const { Queue, Worker } = require("bullmq");
  const n = (count) => (quick ? count / 10 : count);
  const redis = await startRedis();
  try {
    const connection = { host: HOST, port: redis.port };
    let seq = 0;

    /** A fresh queue per scenario; its workers and connections are closed even when the scenario fails or times out. */
    async function scenario(name, timeoutMs, body) {
      const queue = new Queue(`bench-${name}-${seq++}`, { connection });
      const workers = [];
      const failure = deferred();
      queue.on("error", failure.reject);
      const startWorker = async (processor, concurrency) => {
        const worker = new Worker(queue.name, processor, { connection, concurrency });
        worker.on("error", failure.reject);
        worker.on("failed", (job, err) => failure.reject(new Error(`${name}: job ${job?.id} failed: ${err.message}`)));
        workers.push(worker);
        await worker.waitUntilReady();
        await sleep(200); // let its blocking fetch connection settle before any add is timed
        return worker;
      };
      try {
        return await within(timeoutMs, name, Promise.race([body(queue, startWorker), failure.promise]));
      } finally {
        await within(15_000, `${name} close`, Promise.all([...workers.map((w) => w.close(true)), queue.close()])).catch((e) => console.error(e.message));
      }
    }

    const addChunked = async (queue, total, job) => {
      for (let i = 0; i < total; i += 1000) await queue.addBulk(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: "noop", ...job(i + k) })));
    };

    const createSingleC50 = await scenario("create-single", 180_000, async (queue) => {
      const total = n(5_000);
      let next = 0;
      const lane = async () => {
        while (next < total) {
          next++;
          await queue.add("noop", {});
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 50 }, lane));
      return total / ((performance.now() - t0) / 1000);
    });

    const createBulk1000 = await scenario("create-bulk", 180_000, async (queue) => {
      const total = n(20_000);
      const t0 = performance.now();
      await addChunked(queue, total, (i) => ({ data: { i } }));
      return total / ((performance.now() - t0) / 1000);
    });

    const endToEnd = await scenario("end-to-end", 10 * 60_000, async (queue, startWorker) => {
      const total = n(20_000);
      const done = deferred();
      let completed = 0;
      const worker = await startWorker(async () => {}, 50);
      worker.on("completed", () => ++completed === total && done.resolve(performance.now()));
      const t0 = performance.now();
      await addChunked(queue, total, (i) => ({ data: { i } }));
      return total / (((await done.promise) - t0) / 1000);
    });

    const pickup = await scenario("pickup", n(2_000) * 10 + 60_000, async (queue, startWorker) => {
      const total = n(2_000);
      const latencies = [];
      const done = deferred();
      // 10 workers: our queues' default.
      await startWorker(async (job) => {
        latencies.push(Date.now() - job.data.at);
        if (latencies.length === total) done.resolve();
      }, 10);
      const t0 = performance.now();
      const adds = [];
      for (let i = 0; i < total; i++) {
        const wait = t0 + i * 10 - performance.now();
        if (wait > 0) await sleep(wait);
        adds.push(queue.add("noop", { at: Date.now() }));
      }
      await Promise.all([...adds, done.promise]);
      return summary(latencies);
    });

    const delayedLateness = await scenario("delayed-lateness", 90_000, async (queue, startWorker) => {
      const same = n(1_000);
      const spread = n(500);
      const lateness = [];
      const done = deferred();
      await startWorker(async (job) => {
        lateness.push(Date.now() - job.data.due);
        if (lateness.length === same + spread) done.resolve();
      }, 100);
      // opts.timestamp pins BullMQ's due time (timestamp + delay) to exactly our `due`.
      const at = Math.ceil((Date.now() + 3000) / 1000) * 1000;
      await addChunked(queue, same, () => {
        const now = Date.now();
        return { data: { due: at }, opts: { timestamp: now, delay: at - now } };
      });
      await addChunked(queue, spread, (i) => {
        const now = Date.now();
        const delay = 1000 * (1 + Math.floor((i / spread) * 2)) + ((i * 7) % 1000);
        return { data: { due: now + delay }, opts: { timestamp: now, delay } };
      });
      await done.promise;
      return { ...summary(lateness), early: lateness.filter((ms) => ms < 0).length };
    });

    return {
      peer: "bullmq",
      bullmqVersion: installed("bullmq"),
      ioredisVersion: installed("ioredis"),
      redisVersion: /v=(\S+)/.exec(spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout)?.[1] ?? null,
      quick,
      createSingleC50,
      createBulk1000,
      endToEnd,
      pickup,
      delayedLateness,
      unit: "rates jobs/s; latency ms (pickup: processor start minus add() call; delayedLateness: processor start minus due time)",
    };
  } finally {
    await redis.stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
  // A signal would skip the 'exit' hook that kills our redis-server; turn it into an exit.
  for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => process.exit(130));
  try {
    console.log(JSON.stringify(await runBullmqPeer(values)));
  } catch (e) {
    console.error(e);
    process.exitCode = 1;
  }
}
