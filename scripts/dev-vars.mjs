// Local settings for `npm run dev`: .dev.vars from .dev.vars.example, with a random WEBHOOK_SECRET_KEY.
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

/** Creates `dir`/.dev.vars when missing and adds a random WEBHOOK_SECRET_KEY when it has none; returns what it did. */
export function ensureDevVars(dir = ".") {
  const file = join(dir, ".dev.vars");
  const done = [];
  if (!existsSync(file)) {
    copyFileSync(join(dir, ".dev.vars.example"), file);
    done.push("Created .dev.vars from .dev.vars.example.");
  }
  // Webhook secrets and job credentials are encrypted with this key; the Worker refuses to store them without it.
  const current = readFileSync(file, "utf8");
  if (!/^\s*WEBHOOK_SECRET_KEY\s*=\s*\S/m.test(current)) {
    const separator = current === "" || current.endsWith("\n") ? "" : "\n";
    appendFileSync(file, `${separator}WEBHOOK_SECRET_KEY=${randomBytes(32).toString("base64url")}\n`);
    done.push("Added a random WEBHOOK_SECRET_KEY to .dev.vars.");
  }
  return done;
}
