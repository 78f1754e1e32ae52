// Runs before `npm run dev`: local settings, the package's built output, and the local D1 with its migrations.
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const run = (cmd, args, options = {}) => {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync(".dev.vars")) copyFileSync(".dev.vars.example", ".dev.vars");
// Webhook secrets and job credentials are encrypted with this key; Edge Ticker refuses to store them without it.
const vars = readFileSync(".dev.vars", "utf8");
if (!/^\s*WEBHOOK_SECRET_KEY\s*=\s*\S/m.test(vars)) {
  appendFileSync(".dev.vars", `${vars === "" || vars.endsWith("\n") ? "" : "\n"}WEBHOOK_SECRET_KEY=${randomBytes(32).toString("base64url")}\n`);
}
// From a repository checkout (`file:../..`) the package is the source tree; build it once. A tarball ships it built.
if (!existsSync("node_modules/edge-ticker/lib/edge-ticker.js")) run("npm", ["run", "build:package"], { cwd: "node_modules/edge-ticker" });
run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", ...process.argv.slice(2)], { env: { ...process.env, CI: "true" } });
