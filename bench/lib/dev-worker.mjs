// The benchmarks' dev server: the same local runtime as `wrangler dev` (wrangler's startWorker:
// Miniflare, workerd, local D1, Durable Objects and Queues), without the DevTools inspector.
// `wrangler dev` always attaches one: it turns on the runtime's Network domain and logs every
// event (each D1 query with its body) to wrangler's debug log on disk, which costs several ms of
// CPU per request on this machine and does not exist in production. An `inspectorPort` in the
// options (BENCH_INSPECTOR=on, see dev-server.mjs) attaches it, to compare with `wrangler dev` itself.
// Run as its own process (bench/lib/dev-server.mjs spawns it) so that its CPU and the runtime's are
// counted apart from the load: `node bench/lib/dev-worker.mjs '<json options>'`; prints `ready`.
import { unstable_startWorker } from "wrangler";

const { config, script, port, inspectorPort, persistDir, vars } = JSON.parse(process.argv[2]);
const worker = await unstable_startWorker({
  config: config ?? "wrangler.toml",
  ...(script ? { entrypoint: script } : {}),
  bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value }])),
  dev: { server: { hostname: "127.0.0.1", port }, inspector: inspectorPort ? { hostname: "127.0.0.1", port: inspectorPort } : false, persist: persistDir, logLevel: "warn" },
});
await worker.ready;
console.log("ready");
const stop = async () => {
  await worker.dispose().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
