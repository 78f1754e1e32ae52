import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { reconcile } from "../../src/execution/reconciler";
import { recurringSchedulerFor } from "../../src/recurring/client";
import { advance, type RecurringScheduler } from "../../src/recurring/recurring-scheduler";
import { localIso } from "../../src/recurring/timezone";
import { api, uniqueQueue } from "../helpers";
import { runsOf } from "../queue-helpers";

// The instants these tests hand the scheduler lie in the future, so the alarms they leave
// behind never go off during the run; the occurrences they create are due then, and stay pending.
const YEAR = new Date().getUTCFullYear() + 1;
const T = (s: string) => Date.parse(`${YEAR}-${s}`);
const iso = (t: number | null) => (t == null ? null : new Date(t).toISOString());

/** A recurring job armed at `cursor` (created disabled, so no real alarm fires first). */
async function armed(body: Record<string, unknown>, cursor: number): Promise<string> {
  const res = await api("/jobs/recurring", { body: { type: "echo", queue: uniqueQueue(), ...body, enabled: false } });
  expect(res.status).toBe(201);
  await setCursor(res.json.id, cursor);
  return res.json.id;
}

async function setCursor(id: string, cursor: number) {
  await env.DB.prepare(`UPDATE recurring_jobs SET enabled = 1, next_run_at = ? WHERE id = ?`).bind(cursor, id).run();
}

const stub = (id: string) => recurringSchedulerFor(env, id) as DurableObjectStub<RecurringScheduler>;

/** The scheduler's step at a chosen instant; returns where it put its alarm. */
async function step(id: string, now: number): Promise<number | null> {
  return runInDurableObject(stub(id), async (_instance, state) => {
    await advance(state, env, id, now);
    return state.storage.getAlarm();
  });
}

/** A recurring job's runs (live in their queue's scheduler, or archived), by slot. */
async function occurrences(id: string) {
  const runs = (await runsOf(id)).map((r) => ({ id: r.id, scheduled_for: r.scheduledFor == null ? null : Date.parse(r.scheduledFor), status: r.status }));
  return runs.sort((a, b) => (a.scheduled_for ?? 0) - (b.scheduled_for ?? 0));
}

async function nextRunAt(id: string) {
  return (await env.DB.prepare(`SELECT next_run_at AS t FROM recurring_jobs WHERE id = ?`).bind(id).first<{ t: number | null }>())!.t;
}

/** Steps the scheduler from alarm to alarm `count` times and returns the slots it fired. */
async function stepThrough(id: string, count: number): Promise<number[]> {
  let now = (await nextRunAt(id))!;
  for (let i = 0; i < count; i++) now = (await step(id, now))!;
  return (await occurrences(id)).map((o) => o.scheduled_for!);
}

/** The n-th Sunday (1-based) of a month of YEAR, as "MM-DD". */
function nthSunday(month: number, n: number): string {
  const first = new Date(Date.UTC(YEAR, month - 1, 1)).getUTCDay();
  const day = 1 + ((7 - first) % 7) + (n - 1) * 7;
  return `${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}
const dayOffset = (mmdd: string, days: number) => new Date(Date.parse(`${YEAR}-${mmdd}T12:00:00Z`) + days * 86_400_000).toISOString().slice(5, 10);

describe("RecurringScheduler", () => {
  it("after a 3-day outage an hourly job follows its missed-run policy, then runs on time", async () => {
    const expected = { skip: 0, runOnce: 1, runAll: 72 } as const;
    for (const policy of ["skip", "runOnce", "runAll"] as const) {
      const id = await armed({ cronExpression: "@hourly", missedRunPolicy: policy, overlapPolicy: "allow" }, T("06-01T11:00:00Z"));
      const alarm = await step(id, T("06-04T10:30:00Z"));
      const runs = await occurrences(id);
      expect(runs, policy).toHaveLength(expected[policy]);
      if (policy === "runOnce") expect(iso(runs[0].scheduled_for)).toBe(`${YEAR}-06-04T10:00:00.000Z`);
      if (policy === "runAll") expect(iso(runs[0].scheduled_for)).toBe(`${YEAR}-06-01T11:00:00.000Z`);
      expect(iso(alarm)).toBe(`${YEAR}-06-04T11:00:00.000Z`);
      expect(await nextRunAt(id)).toBe(T("06-04T11:00:00Z"));

      await step(id, T("06-04T11:00:00.250Z"));
      const after = await occurrences(id);
      expect(after).toHaveLength(expected[policy] + 1);
      expect(iso(after.at(-1)!.scheduled_for)).toBe(`${YEAR}-06-04T11:00:00.000Z`);
    }
  });

  it("fires a slot at most once, however often and however concurrently its alarm runs", async () => {
    const slot = T("06-01T00:00:00Z");
    const id = await armed({ cronExpression: "* * * * *", overlapPolicy: "allow" }, slot);
    await step(id, slot + 100);
    expect(await occurrences(id)).toHaveLength(1);

    // As if the cursor's move were lost: the same slot comes up again, twice at once.
    await setCursor(id, slot);
    await step(id, slot + 200);
    await setCursor(id, slot);
    await Promise.all([step(id, slot + 300), step(id, slot + 300)]);
    // The real alarm (it runs early here: the clock is before the slot) creates nothing either.
    expect(await runDurableObjectAlarm(stub(id))).toBe(true);
    const runs = await occurrences(id);
    expect(runs).toHaveLength(1);
    expect(runs[0].scheduled_for).toBe(slot);
    expect(await nextRunAt(id)).toBe(slot + 60_000);
    expect(await runInDurableObject(stub(id), (_i, state) => state.storage.getAlarm())).toBe(slot + 60_000);
  });

  it("overlap: skip waits for the previous run to finish, allow runs alongside, cancelPrevious cancels it", async () => {
    const t0 = T("06-01T00:00:00Z");
    const statuses = async (id: string) => (await occurrences(id)).map((o) => o.status);

    const skip = await armed({ cronExpression: "* * * * *" }, t0);
    await step(skip, t0);
    await step(skip, t0 + 60_000);
    expect(await statuses(skip)).toEqual(["pending"]);
    // The previous run ends (cancelled here): the next slot runs.
    const [previous] = await occurrences(skip);
    expect((await api(`/jobs/${previous.id}/cancel`, { method: "POST" })).status).toBe(200);
    await step(skip, t0 + 120_000);
    expect(await statuses(skip)).toEqual(["cancelled", "pending"]);

    const allow = await armed({ cronExpression: "* * * * *", overlapPolicy: "allow" }, t0);
    await step(allow, t0);
    await step(allow, t0 + 60_000);
    expect(await statuses(allow)).toEqual(["pending", "pending"]);

    const cancel = await armed({ cronExpression: "* * * * *", overlapPolicy: "cancelPrevious" }, t0);
    await step(cancel, t0);
    await step(cancel, t0 + 60_000);
    expect(await statuses(cancel)).toEqual(["cancelled", "pending"]);
  });

  it("a disabled job fires nothing; enabling it schedules from now, without catching up", async () => {
    const id = await armed({ cronExpression: "@hourly", missedRunPolicy: "runAll" }, T("06-01T11:00:00Z"));
    expect((await api(`/jobs/recurring/${id}/disable`, { method: "POST" })).status).toBe(200);
    expect(await step(id, T("06-04T10:30:00Z"))).toBeNull();
    expect(await occurrences(id)).toHaveLength(0);

    const before = Date.now();
    const enabled = await api(`/jobs/recurring/${id}/enable`, { method: "POST" });
    const next = Date.parse(enabled.json.nextRunAt);
    expect(next).toBeGreaterThan(before);
    expect(next).toBeLessThanOrEqual(before + 3_600_000);
    expect(await runInDurableObject(stub(id), (_i, state) => state.storage.getAlarm())).toBe(next);
    expect(await occurrences(id)).toHaveLength(0);
  });

  it("America/New_York 02:30 daily: once just after the spring gap, once on the fall-back day", async () => {
    const spring = nthSunday(3, 2);
    const a = await armed({ cronExpression: "30 2 * * *", timezone: "America/New_York", overlapPolicy: "allow" }, T(`${dayOffset(spring, -1)}T07:30:00Z`));
    expect((await stepThrough(a, 3)).map(iso)).toEqual([
      `${YEAR}-${dayOffset(spring, -1)}T07:30:00.000Z`,
      `${YEAR}-${spring}T07:00:00.000Z`,
      `${YEAR}-${dayOffset(spring, 1)}T06:30:00.000Z`,
    ]);

    const fall = nthSunday(11, 1);
    const b = await armed({ cronExpression: "30 2 * * *", timezone: "America/New_York", overlapPolicy: "allow" }, T(`${dayOffset(fall, -1)}T06:30:00Z`));
    expect((await stepThrough(b, 3)).map(iso)).toEqual([
      `${YEAR}-${dayOffset(fall, -1)}T06:30:00.000Z`,
      `${YEAR}-${fall}T07:30:00.000Z`,
      `${YEAR}-${dayOffset(fall, 1)}T07:30:00.000Z`,
    ]);
    const c = await armed({ cronExpression: "30 1 * * *", timezone: "America/New_York", overlapPolicy: "allow" }, T(`${dayOffset(fall, -1)}T05:30:00Z`));
    expect((await stepThrough(c, 3)).map(iso)).toEqual([
      `${YEAR}-${dayOffset(fall, -1)}T05:30:00.000Z`,
      `${YEAR}-${fall}T05:30:00.000Z`,
      `${YEAR}-${dayOffset(fall, 1)}T06:30:00.000Z`,
    ]);
  });

  it("365 consecutive days of a daily Europe/Berlin job give 365 runs, one per local day", async () => {
    const id = await armed({ cronExpression: "30 2 * * *", timezone: "Europe/Berlin", overlapPolicy: "allow" }, T("01-01T01:30:00Z"));
    const slots = await stepThrough(id, 365);
    expect(slots).toHaveLength(365);
    expect(new Set(slots.map((t) => localIso("Europe/Berlin", t).slice(0, 10))).size).toBe(365);
    expect(iso(await nextRunAt(id))).toBe(`${YEAR + 1}-01-01T01:30:00.000Z`);
  });

  it("the cron reconciler rebuilds a scheduler that lost its state from D1", async () => {
    const thisYear = Date.UTC(YEAR - 1, 0, 1);
    const id = await armed({ cronExpression: "0 0 1 1 *" }, thisYear);
    await runInDurableObject(stub(id), async (_i, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
    await reconcile(env);
    const runs = await occurrences(id);
    expect(runs.map((o) => o.scheduled_for)).toEqual([thisYear]);
    expect(await nextRunAt(id)).toBe(Date.UTC(YEAR, 0, 1));
    expect(await runInDurableObject(stub(id), (_i, state) => state.storage.getAlarm())).toBe(Date.UTC(YEAR, 0, 1));
  });
});
