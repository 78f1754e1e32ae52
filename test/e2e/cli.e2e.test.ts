import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index";
import { baseUrl, targetUrl, token } from "./provided";

// The CLI as a process: src/cli bundled as the package build emits it (ESM for Node, dependencies left to node_modules).
let dir: string;
let cliPath: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-ticker-cli-"));
  cliPath = join(process.cwd(), "test", "e2e", `.cli-${process.pid}.mjs`);
  await build({ entryPoints: ["src/cli/index.ts"], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outfile: cliPath });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cliPath, { force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", EDGE_TICKER_URL: baseUrl(), EDGE_TICKER_TOKEN: token(), ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const json = async (args: string[]) => {
  const r = await cli([...args, "--json"]);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
};

const uniqueQueue = (prefix = "cli") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** A failure is one line on stderr, with no stack trace, and nothing on stdout. */
function expectOneLineError(r: Run, code: number, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("edge-ticker CLI against wrangler dev", () => {
  it("jobs create, show, wait, list, logs: human tables by default, JSON with --json", async () => {
    const queue = uniqueQueue();
    const job = await json(["jobs", "create", "echo", "--queue", queue, "--name", "from the cli", "--params", '{"message":"hi","logLines":2,"progressSteps":2,"sleepMs":300}']);
    expect(job).toMatchObject({ type: "echo", queue, name: "from the cli", status: "pending" });

    const wait = await cli(["jobs", "wait", job.id]);
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stdout).toContain(`${job.id} completed`);
    expect(wait.stderr).toContain("100%");

    const shown = await json(["jobs", "show", job.id]);
    expect(shown).toMatchObject({ id: job.id, status: "completed", parameters: { message: "hi" } });
    const human = await cli(["jobs", "show", job.id]);
    expect(human.stdout).toMatch(/status\s+completed/);

    const list = await cli(["jobs", "list", "--queue", queue]);
    expect(list.code).toBe(0);
    const [header, row] = list.stdout.trim().split("\n");
    expect(header.split(/\s{2,}/)).toEqual(["ID", "STATUS", "TYPE", "QUEUE", "NAME", "CREATED", "DURATION"]);
    expect(row.split(/\s{2,}/).slice(0, 5)).toEqual([job.id, "completed", "echo", queue, "from the cli"]);
    expect((await json(["jobs", "list", "--queue", queue, "--all"])).map((j: { id: string }) => j.id)).toEqual([job.id]);

    const logs = await json(["jobs", "logs", job.id]);
    expect(logs.length).toBeGreaterThanOrEqual(2);
  });

  it("jobs wait exits 6 on a failed job; cancel, retry and run act on jobs", async () => {
    const queue = uniqueQueue();
    const failing = await json(["jobs", "create", "echo", "--queue", queue, "--max-retries", "0", "--params", '{"fail":true}']);
    const waited = await cli(["jobs", "wait", failing.id]);
    expect(waited.code).toBe(6);
    expect(waited.stdout).toContain(`${failing.id} failed`);
    expect((await json(["jobs", "retry", failing.id])).status).toBe("pending");

    const later = await json(["jobs", "create", "echo", "--queue", queue, "--delay", "01:00:00"]);
    const cancelled = await cli(["jobs", "cancel", later.id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`Cancelled ${later.id}`);
    expect((await json(["jobs", "show", later.id])).status).toBe("cancelled");

    const postponed = await json(["jobs", "create", "echo", "--queue", queue, "--delay", "01:00:00"]);
    expect((await cli(["jobs", "run", postponed.id])).code).toBe(0);
    expect((await cli(["jobs", "wait", postponed.id, "--json"])).code).toBe(0);
  });

  it("queues set, pause, resume, clear and list", async () => {
    const queue = uniqueQueue("q");
    const set = await json(["queues", "set", queue, "--workers", "3", "--rate-limit", "10/60"]);
    expect(set.settings).toMatchObject({ workers: 3, rateLimit: { limit: 10, intervalSeconds: 60 } });
    expect((await json(["queues", "pause", queue])).status).toBe("paused");
    await json(["jobs", "create", "echo", "--queue", queue]);
    const listed = (await json(["queues", "list"])).find((q: { name: string }) => q.name === queue);
    expect(listed).toMatchObject({ status: "paused", pendingJobs: 1 });
    const table = await cli(["queues", "list"]);
    expect(table.stdout).toMatch(new RegExp(`${queue}\\s+paused\\s+1`));
    await json(["queues", "clear", queue]);
    expect((await json(["queues", "resume", queue])).status).toBe("running");
    expect((await json(["jobs", "list", "--queue", queue, "--status", "pending"]))).toEqual([]);
    expectOneLineError(await cli(["queues", "set", queue, "--rate-limit", "lots"]), 2, /--rate-limit is "<limit>\/<seconds>"/);
  });

  it("recurring create, disable, enable, trigger and list", async () => {
    const queue = uniqueQueue("rec");
    const r = await json(["recurring", "create", "echo", "--cron", "*/5 * * * *", "--name", "cli recurring", "--queue", queue, "--params", '{"message":"tick"}']);
    expect(r).toMatchObject({ type: "echo", cronExpression: "*/5 * * * *", enabled: true, queue });
    expect((await json(["recurring", "disable", r.id])).enabled).toBe(false);
    expect((await json(["recurring", "enable", r.id])).enabled).toBe(true);
    const run = await json(["recurring", "trigger", r.id]);
    expect(run).toMatchObject({ type: "echo", queue, recurringId: r.id });
    expect((await json(["recurring", "list"])).map((x: { id: string }) => x.id)).toContain(r.id);
    await createClient({ baseUrl: baseUrl(), token: token() }).recurring.delete(r.id);
  });

  it("keys create, list and revoke; a revoked key is refused with exit 4", async () => {
    const key = await json(["keys", "create", "cli reader", "--scopes", "tickerq:read"]);
    expect(key.scopes).toEqual(["tickerq:read"]);
    expect((await json(["keys", "list"])).map((k: { id: string }) => k.id)).toContain(key.id);
    expect((await cli(["jobs", "list", "--limit", "1"], { EDGE_TICKER_TOKEN: key.key })).code).toBe(0);
    const readerCreates = await cli(["jobs", "create", "echo"], { EDGE_TICKER_TOKEN: key.key });
    expectOneLineError(readerCreates, 4, /may not do this/);
    expect((await cli(["keys", "revoke", key.id])).code).toBe(0);
    expectOneLineError(await cli(["jobs", "list"], { EDGE_TICKER_TOKEN: key.key }), 4, /token was refused.*EDGE_TICKER_TOKEN/);
  });

  it("webhooks list and test", async () => {
    const client = createClient({ baseUrl: baseUrl(), token: token() });
    const tag = crypto.randomUUID().slice(0, 8);
    const hook = await client.webhooks.create({ url: `${targetUrl()}/record/${tag}`, events: ["job.completed"] });
    expect((await json(["webhooks", "list"])).map((w: { id: string }) => w.id)).toContain(hook.id);
    const tested = await cli(["webhooks", "test", hook.id]);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toContain(`Delivered to ${hook.id}`);
    const { calls } = (await (await fetch(`${targetUrl()}/calls/${tag}`)).json()) as { calls: unknown[] };
    expect(calls.length).toBe(1);
    await client.webhooks.delete(hook.id);
  });

  it("tail prints live status changes of the queue it is given, and stops on SIGINT", async () => {
    const queue = uniqueQueue("tail");
    const child = spawn(process.execPath, [cliPath, "tail", "--queue", queue, "--status", "completed"], {
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", EDGE_TICKER_URL: baseUrl(), EDGE_TICKER_TOKEN: token() },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const until = async (probe: () => boolean) => {
      for (const deadline = Date.now() + 20_000; !probe(); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > deadline) throw new Error(`timed out; stdout: ${stdout} stderr: ${stderr}`);
    };
    await until(() => stderr.includes("Watching"));
    const client = createClient({ baseUrl: baseUrl(), token: token() });
    const other = await client.jobs.create({ type: "echo", queue: uniqueQueue("elsewhere") });
    const job = await client.jobs.create({ type: "echo", queue });
    await until(() => stdout.includes(job.id));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stdout).toMatch(new RegExp(`${job.id} echo ${queue} running → completed`));
    expect(stdout).not.toContain("pending");
    expect(stdout).not.toContain(other.id);
  });

  it("fails with one clear line and a non-zero exit: bad token, unreachable URL, unknown id, bad input, no settings", async () => {
    expectOneLineError(await cli(["jobs", "list"], { EDGE_TICKER_TOKEN: "wrong-token" }), 4, /^error: The token was refused: .* Check --token or EDGE_TICKER_TOKEN\.$/);
    expectOneLineError(await cli(["jobs", "list", "--url", "http://127.0.0.1:9"]), 3, /^error: Could not reach http:\/\/127\.0\.0\.1:9\/api\/tickerq: .*Check --url or EDGE_TICKER_URL/);
    expectOneLineError(await cli(["jobs", "show", "job_unknown"]), 5, /^error: Job was not found\. Check the id/);
    expectOneLineError(await cli(["queues", "pause", "bad name!"]), 1, /queue|name/i);
    expectOneLineError(await cli(["jobs", "create", "echo", "--params", "{not json"]), 2, /--params must be a JSON object/);
    expectOneLineError(await cli(["jobs", "list"], { EDGE_TICKER_URL: "" }), 2, /No deployment URL: pass --url or set EDGE_TICKER_URL/);
    const unknown = await cli(["jobs", "explode"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
  });
});
