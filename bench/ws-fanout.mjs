// Live-update fan-out under `wrangler dev`: N WebSocket subscribers on one queue; for each job, the time
// from its completion (the completedAt the consumer stamps before recording the outcome) to each
// subscriber receiving job-status-changed "completed". Prints JSON.
//   node bench/ws-fanout.mjs [--subscribers 1000] [--jobs 30] [--url http://127.0.0.1:8787 --token T]
// Without --url it starts its own wrangler dev (fresh local state, the black-box tests' flags).
import { sleep, startDevServer } from "./lib/dev-server.mjs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: opts } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000" },
    jobs: { type: "string", default: "30" },
    url: { type: "string" },
    token: { type: "string" },
  },
});
const SUBSCRIBERS = Number(opts.subscribers);
const JOBS = Number(opts.jobs);
const OPEN_CONCURRENCY = 50;
const now = () => performance.timeOrigin + performance.now();

let disconnected = 0;

/** Opens one subscriber; `onCompleted(jobId, receivedAt, completedAt)` fires on each job's "completed". */
function subscriber(url, token, queue, onCompleted) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/tickerq/ws?topics=job-status&queue=${queue}`, { headers: { authorization: `Bearer ${token}` } });
    ws.on("message", (raw) => {
      const at = now();
      const m = JSON.parse(raw.toString());
      if (m.type === "connected") resolve(ws);
      else if (m.type === "job-status-changed" && m.data.status === "completed") onCompleted(m.data.jobId, at, Date.parse(m.data.completedAt));
    });
    ws.once("error", reject);
    ws.once("close", () => disconnected++);
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const summary = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 10) / 10;
  return { count: s.length, median: round(quantile(s, 0.5)), p99: round(quantile(s, 0.99)), max: round(s.at(-1)) };
};

async function main() {
  const server = opts.url ? null : await startDevServer();
  const url = opts.url ?? server.url;
  const token = opts.token ?? server.token;
  const queue = `bench-fanout-${crypto.randomUUID().slice(0, 8)}`;
  const receipts = new Map();
  const record = (jobId, at, completedAt) => {
    const r = receipts.get(jobId) ?? { completedAt, times: [] };
    r.times.push(at);
    receipts.set(jobId, r);
  };

  const sockets = [];
  const openStarted = now();
  try {
    while (sockets.length < SUBSCRIBERS) {
      const n = Math.min(OPEN_CONCURRENCY, SUBSCRIBERS - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: n }, () => subscriber(url, token, queue, record)))));
    }
    const openMs = now() - openStarted;

    const runJob = async () => {
      const res = await fetch(`${url}/api/tickerq/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "echo", queue, parameters: { message: "fanout" } }),
      });
      if (res.status !== 201) throw new Error(`job not created: ${res.status} ${await res.text()}`);
      const { id } = await res.json();
      const deadline = Date.now() + 120_000;
      while ((receipts.get(id)?.times.length ?? 0) < SUBSCRIBERS) {
        if (disconnected) throw new Error(`${disconnected} subscribers were disconnected (did wrangler dev reload?)`);
        if (Date.now() > deadline) throw new Error(`only ${receipts.get(id)?.times.length ?? 0} of ${SUBSCRIBERS} subscribers got job ${id}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return id;
    };

    await runJob(); // warm-up: not measured
    const ids = [];
    for (let i = 0; i < JOBS; i++) ids.push(await runJob());

    const lastSubscriber = [];
    const everyDelivery = [];
    const spread = [];
    for (const id of ids) {
      const { completedAt, times } = receipts.get(id);
      const first = Math.min(...times);
      const last = Math.max(...times);
      lastSubscriber.push(last - completedAt);
      spread.push(last - first);
      for (const t of times) everyDelivery.push(t - completedAt);
    }
    console.log(
      JSON.stringify(
        {
          benchmark: "ws-fanout",
          environment: "wrangler dev (local workerd), client and server on one machine",
          subscribers: SUBSCRIBERS,
          jobs: JOBS,
          connectSeconds: Math.round(openMs / 100) / 10,
          completionToLastSubscriberMs: summary(lastSubscriber),
          completionToEachSubscriberMs: summary(everyDelivery),
          firstToLastSubscriberMs: summary(spread),
          note: "completion = the job's completedAt (stamped when the handler returned, before the outcome is written to D1); ms resolution",
        },
        null,
        2,
      ),
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    await server?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
