#!/usr/bin/env node
// edge-ticker: the operator's command line for an Edge Ticker deployment, built on the typed client.
import { Command, CommanderError, Option } from "commander";
import pc from "picocolors";
import { createClient, type EdgeTickerClient, type JobFilter, type LiveMessage, type Topic, type WebSocketConstructor } from "../client/index.js";
import { EXIT, explain, UsageError } from "./errors.js";
import { details, progressBar, statusColor, table, type Column } from "./output.js";

type Globals = { url?: string; token?: string; basePath?: string; json?: boolean };
type Context = { client: EdgeTickerClient; json: boolean; print: (human: string, data: unknown) => void };

const program = new Command("edge-ticker")
  .description("Operate an Edge Ticker deployment: jobs, queues, recurring jobs, API keys, webhooks and live events.")
  .addOption(new Option("--url <url>", "the deployment's origin, e.g. https://ticker.example.com").env("EDGE_TICKER_URL"))
  .addOption(new Option("--token <token>", "an API key or the admin token").env("EDGE_TICKER_TOKEN"))
  .addOption(new Option("--base-path <path>", "where the API is mounted (API_BASE_PATH)").default("/api/tickerq").env("EDGE_TICKER_BASE_PATH"))
  .option("--json", "print the API's JSON instead of tables")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

async function webSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  // Node 20 has no global WebSocket.
  const ws = await import("ws");
  return ws.WebSocket as unknown as WebSocketConstructor;
}

/** Wraps a command's action: settings, the client, output, and one line with an exit code on any error. */
function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number | void>) {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const g = command.optsWithGlobals<Globals>();
    if (!g.url) throw new UsageError("No deployment URL: pass --url or set EDGE_TICKER_URL (e.g. https://ticker.example.com).");
    if (!/^https?:\/\//.test(g.url)) throw new UsageError(`--url must start with http:// or https://, got "${g.url}".`);
    if (!g.token) throw new UsageError("No token: pass --token or set EDGE_TICKER_TOKEN (an API key or the admin token).");
    const client = createClient({ baseUrl: g.url, token: g.token, basePath: g.basePath, WebSocket: await webSocket() });
    const json = Boolean(g.json);
    const print = (human: string, data: unknown) => console.log(json ? JSON.stringify(data, null, 2) : human);
    // Commander passes the positional arguments, then the command's options, then the command.
    const code = await fn({ client, json, print }, ...(args.slice(0, -1) as A));
    if (typeof code === "number") process.exitCode = code;
  };
}

function parseJson(flag: string, value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {}
  throw new UsageError(`${flag} must be a JSON object, e.g. ${flag} '{"message":"hi"}'.`);
}

function int(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got "${value}".`);
    return n;
  };
}

const jobColumns: Column<{ id: string; status: string; type: string; queue: string; name: string | null; createdAt: string | null; durationMs: number | null }>[] = [
  { header: "ID", value: (j) => j.id },
  { header: "STATUS", value: (j) => j.status, color: (s, j) => statusColor(j.status)(s) },
  { header: "TYPE", value: (j) => j.type },
  { header: "QUEUE", value: (j) => j.queue },
  { header: "NAME", value: (j) => j.name },
  { header: "CREATED", value: (j) => j.createdAt },
  { header: "DURATION", value: (j) => (j.durationMs == null ? null : `${j.durationMs} ms`) },
];

// jobs
const jobs = program.command("jobs").description("list, create and act on jobs");
jobs
  .command("list")
  .description("list jobs, newest first")
  .option("--status <status>", "pending, running, completed, failed or cancelled")
  .option("--type <type>", "job type")
  .option("--queue <queue>", "queue name")
  .option("--search <text>", "a job id, or part of a job name")
  .option("--limit <n>", "how many (default 50)", int("--limit"))
  .option("--all", "every matching job, page after page")
  .action(
    action(async ({ client, print }, opts: { status?: string; type?: string; queue?: string; search?: string; limit?: number; all?: boolean }) => {
      const filter = { status: opts.status, type: opts.type, queue: opts.queue, search: opts.search, limit: opts.limit } as JobFilter;
      let list = (await client.jobs.list(filter)).jobs;
      if (opts.all) {
        list = [];
        for await (const job of client.listJobs(filter)) list.push(job);
      }
      print(list.length ? table(list, jobColumns) : pc.dim("No jobs."), list);
    }),
  );
jobs
  .command("show <id>")
  .description("one job with its attempts")
  .action(
    action(async ({ client, print }, id: string) => {
      const j = await client.jobs.get(id);
      print(
        details([
          ["id", j.id], ["status", statusColor(j.status)(j.status)], ["type", j.type], ["name", j.name], ["queue", j.queue], ["priority", j.priority],
          ["created", j.createdAt], ["scheduled", j.scheduledAt], ["executed", j.executedAt], ["completed", j.completedAt], ["duration", j.duration],
          ["attempts", `${j.attempts} (retries ${j.retryCount}/${j.maxRetries})`], ["progress", j.progress ? `${j.progress.percent}% ${j.progress.message ?? ""}` : null],
          ["parameters", j.parameters], ["result", j.result], ["error", j.error],
        ]),
        j,
      );
    }),
  );
jobs
  .command("create <type>")
  .description("schedule a job")
  .option("--params <json>", "the job's parameters, a JSON object")
  .option("--name <name>", "a name to find it by")
  .option("--queue <queue>", "queue (default: default)")
  .option("--priority <priority>", "low, normal or high")
  .option("--delay <hh:mm:ss>", "run after this long")
  .option("--execute-at <iso>", "run at this time")
  .option("--max-retries <n>", "retries after a failure", int("--max-retries"))
  .option("--timeout <seconds>", "attempt timeout", int("--timeout"))
  .option("--idempotency-key <key>", "a repeated create with this key returns the first job")
  .action(
    action(async ({ client, print }, type: string, o: Record<string, string | number | undefined>) => {
      const job = await client.jobs.create(
        {
          type,
          parameters: parseJson("--params", o.params as string | undefined),
          name: o.name as string | undefined,
          queue: o.queue as string | undefined,
          priority: o.priority as "low" | "normal" | "high" | undefined,
          delay: o.delay as string | undefined,
          executeAt: o.executeAt as string | undefined,
          maxRetries: o.maxRetries as number | undefined,
          timeoutSeconds: o.timeout as number | undefined,
        },
        { idempotencyKey: o.idempotencyKey as string | undefined },
      );
      print(`Created ${pc.bold(job.id)} (${job.type} on ${job.queue}, ${job.status}).`, job);
    }),
  );
jobs
  .command("cancel <id>")
  .description("cancel a pending job, or ask a running one to stop")
  .action(
    action(async ({ client, print }, id: string) => {
      const j = await client.jobs.cancel(id);
      print(j.cancelRequested ? `Asked ${j.id} to stop; it is still ${j.status}.` : `Cancelled ${j.id}.`, j);
    }),
  );
jobs
  .command("retry <id>")
  .description("run a failed or cancelled job again")
  .option("--reset", "start its retry count again from 0")
  .action(
    action(async ({ client, print }, id: string, o: { reset?: boolean }) => {
      const j = await client.jobs.retry(id, { resetRetryCount: Boolean(o.reset) });
      print(`Queued ${j.id} again (${j.status}).`, j);
    }),
  );
jobs
  .command("run <id>")
  .description("run a pending job now, ahead of its delay")
  .action(
    action(async ({ client, print }, id: string) => {
      const j = await client.jobs.execute(id);
      print(`Running ${j.id} now (${j.status}).`, j);
    }),
  );
jobs
  .command("logs <id>")
  .description("a job's log lines")
  .action(
    action(async ({ client, print }, id: string) => {
      const { logs } = await client.jobs.logs(id);
      const colors: Record<string, (s: string) => string> = { error: pc.red, warning: pc.yellow, warn: pc.yellow, debug: pc.dim };
      print(logs.length ? logs.map((l) => `${pc.dim(l.createdAt ?? "")} ${(colors[l.level] ?? ((s: string) => s))(l.level.padEnd(7))} ${l.message}`).join("\n") : pc.dim("No log lines."), logs);
    }),
  );
jobs
  .command("wait <id>")
  .description("wait for a job to finish, with a progress bar; exit 0 if it completed, 6 if it failed or was cancelled")
  .option("--timeout <seconds>", "give up after this long (exit 1)", int("--timeout"))
  .action(
    action(async ({ client, json, print }, id: string, o: { timeout?: number }) => {
      const tty = process.stderr.isTTY && !json;
      const job = await client.waitForJob(id, {
        timeoutMs: o.timeout ? o.timeout * 1000 : undefined,
        onProgress: ({ percent, message }) => {
          if (json) return;
          const bar = progressBar(percent, message);
          if (tty) process.stderr.write(`\r\x1b[2K${bar}`);
          else process.stderr.write(`${bar}\n`);
        },
      });
      if (tty) process.stderr.write("\n");
      print(`${job.id} ${statusColor(job.status)(job.status)}${job.error ? `: ${job.error}` : ""}`, job);
      return job.status === "completed" ? EXIT.ok : EXIT.jobFailed;
    }),
  );

// queues
const queueColumns: Column<{ name: string; status: string; pendingJobs: number; runningJobs: number; completedJobs: number; failedJobs: number; workers: number }>[] = [
  { header: "NAME", value: (q) => q.name },
  { header: "STATUS", value: (q) => q.status, color: (s, q) => statusColor(q.status)(s) },
  { header: "PENDING", value: (q) => q.pendingJobs },
  { header: "RUNNING", value: (q) => q.runningJobs },
  { header: "COMPLETED", value: (q) => q.completedJobs },
  { header: "FAILED", value: (q) => q.failedJobs },
  { header: "WORKERS", value: (q) => q.workers },
];
const queues = program.command("queues").description("list, pause, resume, clear and configure queues");
queues.command("list").description("every queue with its counts").action(
  action(async ({ client, print }) => {
    const { queues: list } = await client.queues.list();
    print(list.length ? table(list, queueColumns) : pc.dim("No queues."), list);
  }),
);
queues.command("pause <name>").description("stop starting jobs of a queue").action(
  action(async ({ client, print }, name: string) => print(`Paused ${name}.`, await client.queues.pause(name))),
);
queues.command("resume <name>").description("start jobs of a paused queue again").action(
  action(async ({ client, print }, name: string) => print(`Resumed ${name}.`, await client.queues.resume(name))),
);
queues
  .command("clear <name>")
  .description("delete a queue's pending jobs (and, with --failed, its failed ones)")
  .option("--failed", "also delete failed jobs")
  .option("--no-pending", "keep pending jobs")
  .action(
    action(async ({ client, print }, name: string, o: { failed?: boolean; pending: boolean }) => {
      const r = await client.queues.clear(name, { clearPending: o.pending, clearFailed: Boolean(o.failed) });
      print(`Cleared ${name}: ${JSON.stringify(r)}`, r);
    }),
  );
queues
  .command("set <name>")
  .description("change a queue's settings")
  .option("--workers <n>", "most jobs running at once", int("--workers"))
  .option("--rate-limit <limit/seconds>", 'starts allowed per interval, e.g. "10/60"; "none" removes it')
  .option("--max-retries <n>", "default retries for new jobs", int("--max-retries"))
  .option("--timeout <seconds>", "default attempt timeout for new jobs", int("--timeout"))
  .action(
    action(async ({ client, print }, name: string, o: { workers?: number; rateLimit?: string; maxRetries?: number; timeout?: number }) => {
      let rateLimit: { limit: number; intervalSeconds: number } | null | undefined;
      if (o.rateLimit === "none") rateLimit = null;
      else if (o.rateLimit !== undefined) {
        const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(o.rateLimit);
        if (!m) throw new UsageError(`--rate-limit is "<limit>/<seconds>" (e.g. 10/60) or "none", got "${o.rateLimit}".`);
        rateLimit = { limit: Number(m[1]), intervalSeconds: Number(m[2]) };
      }
      const defaults = o.maxRetries !== undefined || o.timeout !== undefined ? { maxRetries: o.maxRetries, timeoutSeconds: o.timeout } : undefined;
      if (o.workers === undefined && rateLimit === undefined && !defaults) throw new UsageError("Nothing to set: give --workers, --rate-limit, --max-retries or --timeout.");
      const q = await client.queues.configure(name, { workers: o.workers, rateLimit, defaults });
      print(details([["name", q.name], ["status", q.status], ["workers", q.settings.workers], ["rateLimit", q.settings.rateLimit], ["defaults", q.settings.defaults]]), q);
    }),
  );

// recurring
const recurring = program.command("recurring").description("list, create, trigger, enable and disable recurring jobs");
recurring.command("list").description("recurring jobs with their next run").action(
  action(async ({ client, print }) => {
    const { recurringJobs } = await client.recurring.list({ limit: 500 });
    const columns: Column<(typeof recurringJobs)[number]>[] = [
      { header: "ID", value: (r) => r.id },
      { header: "NAME", value: (r) => r.name },
      { header: "TYPE", value: (r) => r.type },
      { header: "CRON", value: (r) => `${r.cronExpression} ${r.timezone}` },
      { header: "ENABLED", value: (r) => (r.enabled ? "yes" : "no"), color: (s, r) => (r.enabled ? pc.green(s) : pc.yellow(s)) },
      { header: "NEXT RUN", value: (r) => r.nextRunAt },
    ];
    print(recurringJobs.length ? table(recurringJobs, columns) : pc.dim("No recurring jobs."), recurringJobs);
  }),
);
recurring
  .command("create <type>")
  .description("create a recurring job")
  .requiredOption("--cron <expression>", 'cron expression, e.g. "*/5 * * * *"')
  .option("--name <name>", "a name")
  .option("--params <json>", "the job's parameters, a JSON object")
  .option("--queue <queue>", "queue")
  .option("--timezone <tz>", "IANA time zone (default UTC)")
  .option("--disabled", "create it disabled")
  .action(
    action(async ({ client, print }, type: string, o: { cron: string; name?: string; params?: string; queue?: string; timezone?: string; disabled?: boolean }) => {
      const r = await client.recurring.create({ type, cronExpression: o.cron, name: o.name, parameters: parseJson("--params", o.params), queue: o.queue, timezone: o.timezone, enabled: !o.disabled });
      print(`Created ${pc.bold(r.id)}; next run ${r.nextRunAt ?? "-"}.`, r);
    }),
  );
recurring.command("trigger <id>").description("run a recurring job once, now").action(
  action(async ({ client, print }, id: string) => {
    const j = await client.recurring.trigger(id);
    print(`Started job ${pc.bold(j.id)}.`, j);
  }),
);
recurring.command("enable <id>").description("enable a recurring job").action(
  action(async ({ client, print }, id: string) => print(`Enabled ${id}.`, await client.recurring.enable(id))),
);
recurring.command("disable <id>").description("disable a recurring job").action(
  action(async ({ client, print }, id: string) => print(`Disabled ${id}.`, await client.recurring.disable(id))),
);

// keys
const keys = program.command("keys").description("create, list and revoke API keys (needs tickerq:admin)");
keys
  .command("create <name>")
  .description("create an API key; its token is shown once")
  .option("--scopes <list>", "comma-separated: tickerq:read, tickerq:write, tickerq:queue-admin, tickerq:admin", "tickerq:read")
  .option("--expires-at <iso>", "when it stops working")
  .action(
    action(async ({ client, print }, name: string, o: { scopes: string; expiresAt?: string }) => {
      const scopes = o.scopes.split(",").map((s) => s.trim()).filter(Boolean) as ("tickerq:read" | "tickerq:write" | "tickerq:queue-admin" | "tickerq:admin")[];
      const k = await client.keys.create({ name, scopes, expiresAt: o.expiresAt });
      print(`Created key ${pc.bold(k.id)} (${k.scopes.join(", ")}). Its token, shown only now:\n${k.key}`, k);
    }),
  );
keys.command("list").description("every key (without its token)").action(
  action(async ({ client, print }) => {
    const { keys: list } = await client.keys.list();
    const columns: Column<(typeof list)[number]>[] = [
      { header: "ID", value: (k) => k.id },
      { header: "NAME", value: (k) => k.name },
      { header: "SCOPES", value: (k) => k.scopes.join(",") },
      { header: "CREATED", value: (k) => k.createdAt },
      { header: "EXPIRES", value: (k) => k.expiresAt },
      { header: "LAST USED", value: (k) => k.lastUsedAt },
    ];
    print(list.length ? table(list, columns) : pc.dim("No keys."), list);
  }),
);
keys.command("revoke <id>").description("revoke a key; its live connections are closed").action(
  action(async ({ client, print }, id: string) => {
    await client.keys.revoke(id);
    print(`Revoked ${id}.`, { id, revoked: true });
  }),
);

// webhooks
const webhooks = program.command("webhooks").description("list and test webhook endpoints");
webhooks.command("list").description("every webhook endpoint").action(
  action(async ({ client, print }) => {
    const { webhooks: list } = await client.webhooks.list();
    const columns: Column<(typeof list)[number]>[] = [
      { header: "ID", value: (w) => w.id },
      { header: "URL", value: (w) => w.url },
      { header: "EVENTS", value: (w) => w.events.join(",") },
      { header: "FORMAT", value: (w) => w.format },
      { header: "ENABLED", value: (w) => (w.enabled ? "yes" : "no") },
    ];
    print(list.length ? table(list, columns) : pc.dim("No webhooks."), list);
  }),
);
webhooks.command("test <id>").description("send a test event to an endpoint now").action(
  action(async ({ client, print }, id: string) => {
    const r = await client.webhooks.test(id);
    print(r.delivered ? pc.green(`Delivered to ${id}.`) : pc.red(`Not delivered to ${id}: ${r.delivery.error ?? r.delivery.status}`), r);
    return r.delivered ? EXIT.ok : EXIT.failed;
  }),
);

// tail
program
  .command("tail")
  .description("live job events, coloured, until Ctrl-C")
  .option("--queue <queue>", "only this queue")
  .option("--type <type>", "only this job type")
  .option("--status <status>", "only changes to this status")
  .option("--progress", "also show progress and log lines")
  .action(
    action(async ({ client, json }, o: { queue?: string; type?: string; status?: string; progress?: boolean }) => {
      const topics: Topic[] = o.progress ? ["job-status", "job-progress", "job-logs"] : ["job-status"];
      const filters = { ...(o.queue ? { queue: o.queue } : {}), ...(o.type ? { type: o.type } : {}) };
      const show = (m: LiveMessage) => {
        if (m.type === "job-status-changed" && o.status && m.data.status !== o.status) return;
        if (json) return console.log(JSON.stringify(m));
        const d = m.data as Record<string, unknown>;
        const time = pc.dim(String(m.timestamp ?? "").slice(11, 23));
        if (m.type === "job-status-changed") {
          const status = String(d.status);
          console.log(`${time} ${d.jobId} ${pc.dim(`${d.jobType} ${d.queue}`)} ${pc.dim(String(d.previousStatus ?? "new"))} → ${statusColor(status)(status)}${d.error ? pc.red(` ${d.error}`) : ""}`);
        } else if (m.type === "job-progress") console.log(`${time} ${d.jobId} ${pc.cyan(`${d.percent}%`)} ${d.message ?? ""}`);
        else if (m.type === "job-logs") for (const l of (d.logs as { level: string; message: string }[]) ?? []) console.log(`${time} ${d.jobId} ${pc.dim(l.level)} ${l.message}`);
        else if (m.type === "replay-gap") console.log(pc.yellow(`${time} some events were missed while disconnected`));
      };
      const unsubscribe = client.subscribe(topics, show, { filters, onError: (e) => !json && console.error(pc.dim(`reconnecting: ${e instanceof Error ? e.message : e}`)) });
      await unsubscribe.ready;
      if (!json) console.error(pc.dim(`Watching ${topics.join(", ")}${o.queue ? ` on ${o.queue}` : ""}; Ctrl-C to stop.`));
      await new Promise<void>((resolve) => {
        for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => (unsubscribe(), resolve()));
      });
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (or the help); only the exit code is ours.
    process.exitCode = error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
  } else {
    const { line, code } = explain(error);
    console.error(`${pc.red("error:")} ${line}`);
    process.exitCode = code;
  }
}
