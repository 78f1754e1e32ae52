// Starts a real `wrangler dev` on a free port with fresh local state, for black-box tests and the benchmark.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type DevServer = { url: string; port: number; token: string; persistDir: string; pid: number; stop(signal?: NodeJS.Signals): Promise<void>; logs(): string };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const baseEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" });

/** How to run wrangler and from which directory (default: this repository's Worker). */
export type WranglerProject = { cwd?: string; wrangler?: string[] };
const NPX_WRANGLER = ["npx", "wrangler"];

export function migrate(persistDir: string, project: WranglerProject = {}): void {
  const [cmd, ...pre] = project.wrangler ?? NPX_WRANGLER;
  const r = spawnSync(cmd, [...pre, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], { env: baseEnv(), encoding: "utf8", cwd: project.cwd });
  if (r.status !== 0) throw new Error(`migrations failed: ${r.stderr || r.stdout}`);
}

export async function startDevServer(
  options: { persistDir?: string; token?: string; vars?: Record<string, string>; logLevel?: string; port?: number } & WranglerProject = {},
): Promise<DevServer> {
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "edge-ticker-"));
  // ADMIN_TOKEN must have at least 32 characters: this one has 40.
  const token = options.token ?? `e2e-${crypto.randomUUID()}`;
  const port = options.port ?? (await freePort());
  migrate(persistDir, options);
  // Crons do not fire under wrangler dev: traffic drives the reconciler, as in local development.
  // A fixed key, so that a restart on the same state still reads the stored secrets.
  const vars = { ADMIN_TOKEN: token, WEBHOOK_SECRET_KEY: "e2e-webhook-secret-key-0123456789abcdef", ALLOW_PRIVATE_TARGETS: "true", SELF_RECONCILE: "true", DEV_JOB_TYPES: "true", ...options.vars };
  const [cmd, ...pre] = options.wrangler ?? NPX_WRANGLER;
  const args = [...pre, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persistDir, "--inspector-port", String(await freePort()), "--log-level", options.logLevel ?? "warn", "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child: ChildProcess = spawn(cmd, args, { env: baseEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true, cwd: options.cwd });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode != null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/api/tickerq/health`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`wrangler dev did not become healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    token,
    persistDir,
    pid: child.pid!,
    logs: () => output,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode != null) return;
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid!, signal);
      } catch {}
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode == null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {}
      }
    },
  };
}

export function removeState(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}
