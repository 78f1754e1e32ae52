// The example user project (examples/user-worker) under a real `wrangler dev`, against the built package:
// once as `npm install` links "file:../..", once unpacked from the `npm pack` tarball.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestJson, waitFor } from "../support/client-core";
import { removeState, startDevServer, type DevServer } from "./dev-server";

const ROOT = resolve(import.meta.dirname, "../..");
const EXAMPLE = join(ROOT, "examples/user-worker");
// The repository's wrangler, so the test needs no install inside the example; the example's own
// dependencies (zod) resolve from the repository's node_modules as they would from its own.
const WRANGLER = [process.execPath, join(ROOT, "node_modules/wrangler/bin/wrangler.js")];

// Seed 000 "Schedule New Job" and "Schedule Recurring Job", verbatim.
const SEED_NEW_JOB = `{
    "type": "EmailNotificationJob",
    "name": "Welcome Email",
    "parameters": {
        "recipientEmail": "newuser@example.com",
        "templateId": "welcome-email"
    },
    "priority": "normal",
    "delay": "00:00:00",
    "maxRetries": 3,
    "cronExpression": null
}`;
const SEED_RECURRING_JOB = `{
    "type": "DataBackupJob",
    "name": "Daily Backup",
    "cronExpression": "0 2 * * *",
    "parameters": {
        "backupType": "incremental",
        "destination": "s3://backups/"
    },
    "enabled": true
}`;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function buildPackageIfStale() {
  const built = join(ROOT, "lib/edge-ticker.js");
  const sources = readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const newest = Math.max(...sources.map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) run("npm", ["run", "--silent", "build:package"], ROOT);
}

/** What `npm install` makes of "edge-ticker": "file:../..": a link to the repository. */
function linkPackage() {
  const link = join(EXAMPLE, "node_modules/edge-ticker");
  if (existsSync(link)) return;
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync("../../..", link, "dir");
}

function client(server: DevServer) {
  return (path: string, init: Parameters<typeof requestJson>[3] = {}) => requestJson(fetch, `${server.url}/api/tickerq${path}`, server.token, init);
}

function runsTheSeedJobs(project: () => string) {
  let server: DevServer;
  let call: ReturnType<typeof client>;
  beforeAll(async () => {
    server = await startDevServer({ cwd: project(), wrangler: WRANGLER });
    call = client(server);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    if (server) removeState(server.persistDir);
  });

  const finished = (id: string) =>
    waitFor(async () => {
      const r = await call(`/jobs/${id}`);
      return ["completed", "failed"].includes(r.json?.status) ? r.json : null;
    }, 30_000);

  it("runs seed 000's EmailNotificationJob request, sent verbatim, with the user's handler", async () => {
    const created = await call("/jobs", { rawBody: SEED_NEW_JOB, headers: { "content-type": "application/json" } });
    expect(created.status).toBe(201);
    const done = await finished(created.json.id);
    expect(done).toMatchObject({ status: "completed", name: "Welcome Email", timeoutSeconds: 30, result: { messageId: `msg-${created.json.id}`, deliveryStatus: "delivered" } });
    const logs = (await call(`/jobs/${created.json.id}/logs`)).json.logs.map((l: { message: string }) => l.message);
    expect(logs).toEqual(["Rendering welcome-email", "Sent to newuser@example.com"]);
  });

  it("runs seed 000's DataBackupJob recurring request, sent verbatim, when triggered", async () => {
    const created = await call("/jobs/recurring", { rawBody: SEED_RECURRING_JOB, headers: { "content-type": "application/json" } });
    expect(created.status).toBe(201);
    const triggered = await call(`/jobs/recurring/${created.json.id}/trigger`, { method: "POST" });
    expect(triggered.status).toBe(201);
    const done = await finished(triggered.json.id);
    expect(done).toMatchObject({ status: "completed", recurringId: created.json.id, result: { backupType: "incremental", destination: "s3://backups/" } });
  });

  it("also takes the parameter names to/subject/template and databases/destination", async () => {
    const email = await call("/jobs", { body: { type: "EmailNotificationJob", parameters: { to: "ops@example.com", subject: "Hello", template: "welcome-email" } } });
    const backup = await call("/jobs", { body: { type: "DataBackupJob", parameters: { databases: ["orders", "users"], destination: "s3://backups/" } } });
    expect([email.status, backup.status]).toEqual([201, 201]);
    expect(await finished(email.json.id)).toMatchObject({ status: "completed", result: { deliveryStatus: "delivered" } });
    expect(await finished(backup.json.id)).toMatchObject({ status: "completed", result: { backupType: "full", databases: ["orders", "users"], destination: "s3://backups/" } });
  });

  it("refuses an unknown type naming the user's and the built-in types, and bad parameters naming the field", async () => {
    const unknown = await call("/jobs", { body: { type: "SmsJob" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/Known types: http, echo, report, EmailNotificationJob, DataBackupJob\./);
    const bad = await call("/jobs", { body: { type: "EmailNotificationJob", parameters: { recipientEmail: "newuser@example.com" } } });
    expect(bad.status).toBe(400);
    expect(bad.json.details).toEqual([expect.objectContaining({ path: "parameters.templateId" })]);
  });
}

describe("the example user worker, with the package linked from this checkout", () => {
  runsTheSeedJobs(() => {
    buildPackageIfStale();
    linkPackage();
    return EXAMPLE;
  });
});

describe("the example user worker, with the package from `npm pack`", () => {
  // Inside the repository, so that the package's dependencies resolve from its node_modules as an install would provide them.
  let project = "";
  runsTheSeedJobs(() => {
    buildPackageIfStale();
    project = mkdtempSync(join(ROOT, "examples", ".packed-"));
    const tarball = run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", project], ROOT).trim().split("\n").pop()!;
    for (const entry of ["src", "wrangler.toml", "package.json"]) cpSync(join(EXAMPLE, entry), join(project, entry), { recursive: true });
    mkdirSync(join(project, "node_modules/edge-ticker"), { recursive: true });
    run("tar", ["-xzf", join(project, tarball), "-C", join(project, "node_modules/edge-ticker"), "--strip-components=1"], project);
    expect(existsSync(join(project, "node_modules/edge-ticker/lib/index.js")), "the repository's own Worker is not shipped").toBe(false);
    expect(existsSync(join(project, "node_modules/edge-ticker/lib/api/faults.js")), "test-only routes are not shipped").toBe(false);
    return project;
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));
});
