import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script helper
import { ensureDevVars } from "../../scripts/dev-vars.mjs";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "edge-ticker-devvars-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const keyOf = (dir: string) => /^WEBHOOK_SECRET_KEY=(\S+)$/m.exec(readFileSync(join(dir, ".dev.vars"), "utf8"))?.[1];

describe("npm run dev's local settings", () => {
  it("creates .dev.vars from the example with a random WEBHOOK_SECRET_KEY, and keeps it on the next start", () => {
    const dir = project({ ".dev.vars.example": readFileSync(".dev.vars.example", "utf8") });
    ensureDevVars(dir);
    const key = keyOf(dir);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ensureDevVars(dir)).toEqual([]);
    expect(keyOf(dir)).toBe(key);
  });

  it("adds a key to an existing .dev.vars that lacks one (or has it empty or commented out)", () => {
    for (const existing of ["ADMIN_TOKEN=x", "ADMIN_TOKEN=x\n# WEBHOOK_SECRET_KEY=\n", "WEBHOOK_SECRET_KEY=\n"]) {
      const dir = project({ ".dev.vars": existing });
      expect(ensureDevVars(dir)).toEqual(["Added a random WEBHOOK_SECRET_KEY to .dev.vars."]);
      const text = readFileSync(join(dir, ".dev.vars"), "utf8");
      expect(text.startsWith(existing)).toBe(true);
      expect(text).toMatch(/^ADMIN_TOKEN=x$|^WEBHOOK_SECRET_KEY=$/m);
      expect(keyOf(dir)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});
