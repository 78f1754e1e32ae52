// `npm run dev [-- wrangler dev args]`: prepares local settings and the local D1, then runs wrangler dev.
import { spawn, spawnSync } from "node:child_process";
import { ensureDevVars } from "./dev-vars.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";
const args = process.argv.slice(2);
const wrangler = (wranglerArgs, opts = {}) =>
  spawnSync("npx", ["wrangler", ...wranglerArgs], { stdio: "inherit", env: process.env, ...opts });

for (const line of ensureDevVars()) console.log(line);
// Pass --persist-to through to the migration so both use the same local state.
const persistIndex = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persist = persistIndex < 0 ? [] : args[persistIndex].includes("=") ? [args[persistIndex]] : args.slice(persistIndex, persistIndex + 2);
const migrated = wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist], { env: { ...process.env, CI: "true" } });
if (migrated.status !== 0) process.exit(migrated.status ?? 1);

console.log("Local admin token: ADMIN_TOKEN in .dev.vars (send it as 'Authorization: Bearer <token>').");
const dev = spawn("npx", ["wrangler", "dev", ...args], { stdio: "inherit", env: process.env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
