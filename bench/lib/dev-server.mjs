// Starts a dev server for the benchmarks (bench/lib/dev-worker.mjs: wrangler's local runtime, as
// `wrangler dev` runs it, without the DevTools inspector unless BENCH_INSPECTOR=on): fresh local
// state unless one is given, migrated as the black-box tests do, log level warn, its own ports.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };
/** Whether the benchmarks' dev servers attach wrangler's DevTools inspector (as `wrangler dev` always does). */
export const inspectorOn = process.env.BENCH_INSPECTOR === "on";
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ADMIN_TOKEN must have at least 32 characters: the default has 42.
// `script`: another entry point than the config's `main` (the cost benchmark's metered Worker).
export async function startDevServer({ persistDir, token = `bench-${crypto.randomUUID()}`, vars = {}, config, script } = {}) {
  const configArgs = config ? ["-c", config] : [];
  const ownState = !persistDir;
  const dir = persistDir ?? mkdtempSync(join(tmpdir(), "edge-ticker-bench-"));
  const port = await freePort();
  const migrated = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", dir, ...configArgs], { env: wranglerEnv, encoding: "utf8" });
  if (migrated.status !== 0) throw new Error(`migrations failed: ${migrated.stderr || migrated.stdout}`);
  // A fixed key, so that a restart on the same state still reads the stored secrets.
  const settings = { ADMIN_TOKEN: token, WEBHOOK_SECRET_KEY: "bench-webhook-secret-key-0123456789abcdef", ALLOW_PRIVATE_TARGETS: "true", SELF_RECONCILE: "true", DEV_JOB_TYPES: "true", ...vars };
  const inspectorPort = inspectorOn ? await freePort() : undefined;
  const options = { config, script, port, inspectorPort, persistDir: dir, vars: settings };
  const child = spawn(process.execPath, ["bench/lib/dev-worker.mjs", JSON.stringify(options)], { env: wranglerEnv, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode != null) throw new Error(`dev server exited:\n${output}`);
    try {
      if ((await fetch(`${url}/api/tickerq/health`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`dev server did not become healthy:\n${output}`);
    await sleep(200);
  }
  return {
    url,
    token,
    pid: child.pid,
    /** The DevTools inspector's port (BENCH_INSPECTOR=on), for profiling the Worker's isolate. */
    inspectorPort,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await Promise.race([exited, sleep(10_000)]);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      if (ownState) rmSync(dir, { recursive: true, force: true });
    },
  };
}
