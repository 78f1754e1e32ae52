import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, uniqueQueue, waitFor, waitForStatus } from "../helpers";

const seedBody = (queue: string, extra: Record<string, unknown> = {}) => ({
  type: "echo",
  name: "Daily Backup",
  cronExpression: "0 2 * * *",
  parameters: { message: "backup" },
  enabled: true,
  queue,
  ...extra,
});

async function storedCount(queue: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM recurring_jobs WHERE queue = ?`).bind(queue).first<{ n: number }>();
  return row!.n;
}

describe("recurring jobs API", () => {
  it("creates a recurring job from the seed's request, with defaults and the next 5 runs in UTC and local time", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs/recurring", { body: seedBody(queue, { timezone: "america/new_york" }) });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      type: "echo",
      name: "Daily Backup",
      cronExpression: "0 2 * * *",
      parameters: { message: "backup" },
      enabled: true,
      timezone: "America/New_York",
      queue,
      priority: "normal",
      maxRetries: 3,
      overlapPolicy: "skip",
      missedRunPolicy: "runOnce",
      lastRun: null,
    });
    expect(created.json.id).toMatch(/^rec_/);
    const { nextRuns, nextRunAt } = created.json;
    expect(nextRuns).toHaveLength(5);
    expect(nextRuns[0].utc).toBe(nextRunAt);
    expect(Date.parse(nextRunAt)).toBeGreaterThan(Date.now());
    for (const run of nextRuns) {
      expect(run.utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
      expect(run.local).toMatch(/^\d{4}-\d\d-\d\dT02:00:00-0[45]:00$/);
      expect(Date.parse(run.local)).toBe(Date.parse(run.utc));
    }

    const got = await api(`/jobs/recurring/${created.json.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(created.json);
    const listed = await api(`/jobs/recurring?queue=${queue}`);
    expect(listed.json).toMatchObject({ totalCount: 1, hasMore: false });
    expect(listed.json.recurringJobs[0]).toMatchObject({ id: created.json.id, nextRunAt });
    expect(listed.json.recurringJobs[0].nextRuns).toBeUndefined();
  });

  it("routes /jobs/recurring to recurring jobs, not to GET /jobs/{id}", async () => {
    const list = await api("/jobs/recurring?limit=1");
    expect(list.status).toBe(200);
    expect(Array.isArray(list.json.recurringJobs)).toBe(true);
    const missing = await api("/jobs/recurring/rec_nope");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: "not_found", message: "Recurring job was not found." });
    expect((await api("/jobs/recurring/rec_nope/trigger", { method: "POST" })).status).toBe(404);
  });

  it("refuses an invalid cron expression, time zone, type or parameters with a 400 that says what is wrong, storing nothing", async () => {
    const queue = uniqueQueue();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ cronExpression: "0 2 * *" }, "cronExpression", /not a valid cron expression: has 4 fields; use 5/],
      [{ cronExpression: "0 25 * * *" }, "cronExpression", /not a valid cron expression: .*25.*0-23/],
      [{ cronExpression: "@sometimes" }, "cronExpression", /unknown macro "@sometimes"/],
      [{ cronExpression: "0 0 30 2 *" }, "cronExpression", /not a valid cron expression: Invalid explicit day of month/],
      [{ cronExpression: 5 }, "cronExpression", /string/],
      [{ timezone: "Mars/Olympus_Mons" }, "timezone", /unknown time zone "Mars\/Olympus_Mons"/],
      [{ timezone: "+02:00" }, "timezone", /unknown time zone/],
      [{ type: "nope" }, "type", /Unknown job type "nope"/],
      [{ type: "http", parameters: { url: "ftp://x" } }, "parameters.url", /./],
      [{ overlapPolicy: "queue" }, "overlapPolicy", /skip.*allow.*cancelPrevious/],
      [{ missedRunPolicy: "all" }, "missedRunPolicy", /runOnce/],
      [{ everyDay: true }, "", /everyDay/],
    ];
    for (const [extra, path, message] of cases) {
      const res = await api("/jobs/recurring", { body: seedBody(queue, extra) });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json.error).toBe("validation_error");
      expect(res.json.details[0].path, JSON.stringify(extra)).toBe(path);
      expect(res.json.message, JSON.stringify(extra)).toMatch(message);
    }
    expect(await storedCount(queue)).toBe(0);
  });

  it("POST /jobs with a non-null cronExpression creates a recurring job the same way", async () => {
    const queue = uniqueQueue();
    const created = await api("/jobs", { body: seedBody(queue, { cronExpression: "*/10 * * * *", timezone: "Europe/Berlin", missedRunPolicy: "skip" }) });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: expect.stringMatching(/^rec_/), cronExpression: "*/10 * * * *", timezone: "Europe/Berlin", missedRunPolicy: "skip" });
    expect(created.json.nextRuns).toHaveLength(5);
    expect((await api(`/jobs/recurring/${created.json.id}`)).status).toBe(200);

    const withDelay = await api("/jobs", { body: seedBody(queue, { delay: "00:01:00" }) });
    expect(withDelay.status).toBe(400);
    expect(withDelay.json.message).toMatch(/delay: a recurring job \(cronExpression\) takes no delay/);
    const badCron = await api("/jobs", { body: seedBody(queue, { cronExpression: "every day" }) });
    expect(badCron.status).toBe(400);
    expect(badCron.json.details[0].path).toBe("cronExpression");
    expect(await storedCount(queue)).toBe(1);

    const oneOff = await api("/jobs", { body: { type: "echo", cronExpression: null, queue } });
    expect(oneOff.status).toBe(201);
    expect(oneOff.json).toMatchObject({ id: expect.stringMatching(/^job_/), recurringId: null, scheduledFor: null });
    const batch = await api("/jobs/batch", { body: { jobs: [{ type: "echo", cronExpression: "* * * * *", queue }] } });
    expect(batch.status).toBe(400);
    expect(batch.json.details[0].path).toBe("jobs[0].cronExpression");
  });

  it("PATCH reschedules from now on a new cron or time zone, keeps the slot otherwise, and refuses bad values", async () => {
    const queue = uniqueQueue();
    const { json: job } = await api("/jobs/recurring", { body: seedBody(queue, { cronExpression: "0 0 1 1 *" }) });
    const policies = await api(`/jobs/recurring/${job.id}`, { method: "PATCH", body: { overlapPolicy: "allow", missedRunPolicy: "runAll", parameters: { message: "v2" } } });
    expect(policies.status).toBe(200);
    expect(policies.json).toMatchObject({ overlapPolicy: "allow", missedRunPolicy: "runAll", parameters: { message: "v2" }, nextRunAt: job.nextRunAt });

    const moved = await api(`/jobs/recurring/${job.id}`, { method: "PATCH", body: { cronExpression: "30 6 * * *", timezone: "Asia/Tokyo" } });
    expect(moved.status).toBe(200);
    expect(moved.json.nextRunAt).toMatch(/T21:30:00\.000Z$/);
    expect(Date.parse(moved.json.nextRunAt) - Date.now()).toBeLessThanOrEqual(86_400_000);
    const detail = await api(`/jobs/recurring/${job.id}`);
    expect(detail.json.nextRuns.map((r: any) => r.local.slice(10))).toEqual(Array(5).fill("T06:30:00+09:00"));

    for (const body of [{ cronExpression: "* * *" }, { timezone: "Nowhere/City" }, { parameters: { sleepMs: "long" } }, {}, { type: "http" }]) {
      const res = await api(`/jobs/recurring/${job.id}`, { method: "PATCH", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toBe("validation_error");
    }
    expect((await api(`/jobs/recurring/${job.id}`)).json).toMatchObject({ cronExpression: "30 6 * * *", timezone: "Asia/Tokyo", parameters: { message: "v2" } });
    expect((await api(`/jobs/recurring/rec_nope`, { method: "PATCH", body: { enabled: false } })).status).toBe(404);
  });

  it("disable stops the schedule; enable schedules from now", async () => {
    const queue = uniqueQueue();
    const { json: job } = await api("/jobs/recurring", { body: seedBody(queue, { cronExpression: "@hourly" }) });
    const disabled = await api(`/jobs/recurring/${job.id}/disable`, { method: "POST" });
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await api(`/jobs/recurring/${job.id}`)).json.nextRuns).toEqual([]);
    expect((await api(`/jobs/recurring?queue=${queue}&enabled=false`)).json.totalCount).toBe(1);
    expect((await api(`/jobs/recurring?queue=${queue}&enabled=true`)).json.totalCount).toBe(0);

    const enabled = await api(`/jobs/recurring/${job.id}/enable`, { method: "POST" });
    expect(enabled.json.enabled).toBe(true);
    const next = Date.parse(enabled.json.nextRunAt);
    expect(next).toBeGreaterThan(Date.now());
    expect(next - Date.now()).toBeLessThanOrEqual(3_600_000);
  });

  it("trigger runs once now as an ordinary job, listed under recurringId and shown as lastRun; DELETE keeps it", async () => {
    const queue = uniqueQueue();
    const { json: job } = await api("/jobs/recurring", { body: seedBody(queue, { cronExpression: "0 0 1 1 *", enabled: false }) });
    const triggered = await api(`/jobs/recurring/${job.id}/trigger`, { method: "POST" });
    expect(triggered.status).toBe(201);
    expect(triggered.json).toMatchObject({ id: expect.stringMatching(/^job_/), recurringId: job.id, scheduledFor: null, type: "echo", name: "Daily Backup", queue });
    const done = await waitForStatus(triggered.json.id, ["completed", "failed"]);
    expect(done).toMatchObject({ status: "completed", result: { echo: "backup", attempt: 1 } });

    await api("/jobs", { body: { type: "echo", queue } });
    const runs = await api(`/jobs?recurringId=${job.id}`);
    expect(runs.json.totalCount).toBe(1);
    expect(runs.json.jobs[0]).toMatchObject({ id: triggered.json.id, recurringId: job.id });
    const detail = await api(`/jobs/recurring/${job.id}`);
    expect(detail.json.lastRun).toMatchObject({ id: triggered.json.id, status: "completed" });

    expect((await api(`/jobs/recurring/${job.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/jobs/recurring/${job.id}`)).status).toBe(404);
    expect((await api(`/jobs/recurring/${job.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await api(`/jobs?recurringId=${job.id}`)).json.totalCount).toBe(1);
  });

  it("an every-second job runs through its queue, one job per slot and never before it, until disabled", async () => {
    const queue = uniqueQueue();
    const { json: job } = await api("/jobs/recurring", { body: seedBody(queue, { cronExpression: "* * * * * *", overlapPolicy: "allow" }) });
    const completed = await waitFor(async () => {
      const r = await api(`/jobs?recurringId=${job.id}&status=completed&limit=500`);
      return r.json.jobs.length >= 3 ? r.json.jobs : null;
    }, 20_000);
    const slots = completed.map((j: any) => j.scheduledFor);
    expect(new Set(slots).size).toBe(slots.length);
    for (const j of completed) {
      expect(j.scheduledFor).toMatch(/\.000Z$/);
      expect(Date.parse(j.executedAt)).toBeGreaterThanOrEqual(Date.parse(j.scheduledFor));
    }
    await api(`/jobs/recurring/${job.id}/disable`, { method: "POST" });
    const after = (await api(`/jobs?recurringId=${job.id}`)).json.totalCount;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await api(`/jobs?recurringId=${job.id}`)).json.totalCount).toBe(after);
  });
});
