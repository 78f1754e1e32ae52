#!/usr/bin/env node
// Endpoint monitoring at scale on a real `wrangler dev`: 1,000 http endpoints checked every 30 s
// against a local target, how late the checks start (start minus due) over a few rounds, and the
// cost per endpoint-month from the operations the Worker made (the metered benchmark Worker, src/metering/bench-entry.ts). Prints one JSON object.
//   node bench/monitoring.mjs [endpoints=1000] [rounds=4]
// The default 4 rounds (120 s) span two flush periods (ENDPOINT_FLUSH_SECONDS 60), so D1 writes are counted at their steady rate.
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { PRICES_USD_PER_MILLION } from "./lib/cost.mjs";
import { sleep, startDevServer } from "./lib/dev-server.mjs";

const ENDPOINTS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 4);
const INTERVAL_SECONDS = 30;
const MONTH_SECONDS = 30 * 86_400;
/** Durable Object duration: $12.50 per million GB-s at 128 MB; the shard's object is active all month (its alarm is the clock). */
const DO_MONTH_USD = MONTH_SECONDS * 0.128 * (12.5 / 1e6);
const CPU_MS_USD = 0.02 / 1e6;

const target = createServer((req, res) => {
  hits++;
  res.writeHead(200, { "content-type": "text/plain" }).end("ok");
});
let hits = 0;
await new Promise((r) => target.listen(0, "127.0.0.1", r));
const targetPort = target.address().port;

/** CPU time (user + system, ms) of every workerd process of the dev server: an upper bound for Workers CPU. */
function workerdCpuMs(pgid) {
  const pids = execSync("ps -eo pgid=,pid=,comm=", { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([g, , comm]) => Number(g) === pgid && /workerd/.test(comm ?? ""))
    .map(([, pid]) => Number(pid));
  return pids.reduce((ms, pid) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return ms + (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      return ms;
    }
  }, 0);
}

const server = await startDevServer({ script: "src/metering/bench-entry.ts" });
try {
  const api = async (path, body, method) => {
    const res = await fetch(`${server.url}${path}`, {
      method: method ?? (body ? "POST" : "GET"),
      headers: { authorization: `Bearer ${server.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  // Created over one interval, as endpoints added at different times would be: their checks spread over the 30 s.
  const createdStart = Date.now();
  for (let i = 0; i < ENDPOINTS; i++) {
    await sleep(Math.max(0, createdStart + (i * INTERVAL_SECONDS * 1000) / ENDPOINTS - Date.now()));
    await api("/api/endpoints", { name: `bench-${i}`, address: "127.0.0.1", port: targetPort, scheme: "http", path: `/e/${i}`, group: `g${i % 10}`, intervalSeconds: INTERVAL_SECONDS, timeoutMs: 5000 });
  }
  // One warm-up round after the last create, then measure whole rounds.
  await sleep(INTERVAL_SECONDS * 1000);
  await api("/api/tickerq/_meter", null, "DELETE");
  const before = await api("/api/endpoints/scheduling?samples=1");
  const cpu0 = workerdCpuMs(server.pid);
  const hits0 = hits;
  const t0 = Date.now();
  await sleep(ROUNDS * INTERVAL_SECONDS * 1000);
  const seconds = (Date.now() - t0) / 1000;
  const counts = await api("/api/tickerq/_meter");
  const cpuMs = workerdCpuMs(server.pid) - cpu0;
  const checksInRun = (await api("/api/endpoints/scheduling?samples=1")).shards[0].checks - before.shards[0].checks;
  const lateness = (await api(`/api/endpoints/scheduling?samples=${Math.min(10_000, checksInRun)}`)).shards[0];
  const status = await api("/api/status");

  // Operations per endpoint-month: the measured rate, scaled from the run's seconds to 30 days.
  const perEndpointMonth = (n) => (n / ENDPOINTS / seconds) * MONTH_SECONDS;
  const ops = {
    workerRequests: perEndpointMonth(counts.workerInvocations),
    d1RowsRead: perEndpointMonth(counts.d1RowsRead),
    d1RowsWritten: perEndpointMonth(counts.d1RowsWritten),
    doRequests: perEndpointMonth(counts.doRequests + counts.doAlarms),
    doRowsRead: perEndpointMonth(counts.doRowsRead),
    doRowsWritten: perEndpointMonth(counts.doRowsWritten),
    doAlarmsSet: perEndpointMonth(counts.doAlarmsSet),
    queueOperations: perEndpointMonth(counts.queueWrites + counts.queueReads + counts.queueDeletes),
  };
  const usd = Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, (v * PRICES_USD_PER_MILLION[k]) / 1e6]));
  usd.doDuration = DO_MONTH_USD / ENDPOINTS;
  usd.workersCpuUpperBound = (perEndpointMonth(cpuMs) * CPU_MS_USD);
  const total = Object.values(usd).reduce((a, b) => a + b, 0);
  const round = (x, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
  console.log(
    JSON.stringify(
      {
        benchmark: `endpoint monitoring: ${ENDPOINTS} http endpoints every ${INTERVAL_SECONDS} s on wrangler dev`,
        rounds: ROUNDS,
        seconds: round(seconds, 1),
        checksReported: checksInRun,
        targetRequests: hits - hits0,
        expectedChecks: Math.round((ENDPOINTS * seconds) / INTERVAL_SECONDS),
        online: status.filter((e) => e.status === "online").length,
        latenessMs: lateness.latenessMs,
        latenessSamples: lateness.samples,
        perEndpointMonth: Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, round(v, 1)])),
        usdPerEndpointMonth: Object.fromEntries(Object.entries(usd).map(([k, v]) => [k, round(v, 5)])),
        totalUsdPerEndpointMonth: round(total, 4),
        totalUsdPer1000EndpointsMonth: round(total * 1000, 2),
        meter: counts,
      },
      null,
      2,
    ),
  );
} finally {
  await server.stop();
  target.close();
}
