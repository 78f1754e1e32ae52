import { spawnSync } from "node:child_process";

/** Runs SQL against a stopped dev server's persisted local D1 and returns the rows. */
export function queryLocalD1<T = Record<string, unknown>>(persistDir: string, sql: string): T[] {
  const r = spawnSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", persistDir, "--json", "--command", sql], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`d1 execute failed: ${r.stderr || r.stdout}`);
  const parsed = JSON.parse(r.stdout) as { results: T[] }[];
  return parsed.flatMap((p) => p.results);
}
