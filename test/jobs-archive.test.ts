import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushQueues } from "./flush-helpers";
import { ADMIN, api, uniqueQueue, waitFor, waitForStatus } from "./helpers";

const later = (queue: string, name: string) => ({ type: "echo", name, delay: "01:00:00", queue });

/** Reads a job as every by-id route shows it. */
async function views(id: string) {
  const [details, logs, wbt] = await Promise.all([api(`/jobs/${id}`), api(`/jobs/${id}/logs`), readWbt(id)]);
  return { details: details.json, logs: logs.json, wbt };
}

/** The WbtWebJob API's log lines of a job. */
async function readWbt(id: string) {
  const res = await exports.default.fetch(new Request(`http://edge-ticker.test/api/jobs/${id}/logs`, { headers: { authorization: `Bearer ${ADMIN}` } }));
  return { status: res.status, body: await res.json<any[]>() };
}

describe("a finished job reads the same from its scheduler and from the archive", () => {
  it("one attempt (history rebuilt from the job's row) and two attempts, with their logs", async () => {
    const queue = uniqueQueue("archive");
    const once = (await api("/jobs", { body: { type: "echo", parameters: { message: "a", logLines: 2 }, queue } })).json.id;
    const twice = (await api("/jobs", { body: { type: "echo", parameters: { failTimes: 1, logLines: 1 }, maxRetries: 1, queue } })).json.id;
    await waitForStatus(once, ["completed"]);
    await waitForStatus(twice, ["completed"]);
    const live = { once: await views(once), twice: await views(twice) };
    expect(live.once.details.executionHistory).toEqual([expect.objectContaining({ attempt: 1, status: "completed", error: null })]);
    expect(live.twice.details.executionHistory.map((a: any) => a.status)).toEqual(["failed", "completed"]);
    expect(live.once.logs.logs.map((l: any) => l.message)).toEqual(["echo line 1", "echo line 2"]);

    await flushQueues(queue);
    const archived = await env.DB.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE id IN (?1, ?2) AND status = 'completed'`).bind(once, twice).first<{ n: number }>();
    expect(archived!.n).toBe(2);
    const after = { once: await views(once), twice: await views(twice) };
    expect(after.once.details).toEqual(live.once.details);
    expect(after.twice.details).toEqual(live.twice.details);
    // Log lines keep their text, order and attempt; their ids are the archive's own.
    const line = ({ id: _, ...rest }: any) => rest;
    expect(after.once.logs.logs.map(line)).toEqual(live.once.logs.logs.map(line));
    expect(after.twice.logs.logs.map(line)).toEqual(live.twice.logs.logs.map(line));
    expect(after.twice.wbt.body.map((l: any) => l.message)).toEqual(live.twice.wbt.body.map((l: any) => l.message));
  });
});

describe("lists merge live and archived jobs", () => {
  it("pages newest first across both, with exact totals per status and for other filters", async () => {
    const queue = uniqueQueue("merge");
    // Oldest first: one live job, four archived ones, three live ones.
    const ids: string[] = [(await api("/jobs", { body: later(queue, "waiting early") })).json.id];
    for (let i = 0; i < 4; i++) ids.push((await api("/jobs", { body: { type: "echo", name: `done ${i}`, queue } })).json.id);
    for (const id of ids.slice(1)) await waitForStatus(id, ["completed"]);
    await flushQueues(queue);
    for (let i = 0; i < 3; i++) ids.push((await api("/jobs", { body: later(queue, `waiting ${i}`) })).json.id);
    const newestFirst = [...ids].reverse();

    for (const [offset, limit] of [[0, 2], [2, 2], [3, 3], [4, 2], [6, 5], [7, 2], [8, 1], [1, 8]]) {
      const page = await api(`/jobs?queue=${queue}&limit=${limit}&offset=${offset}`);
      expect(page.json.jobs.map((j: any) => j.id), `offset ${offset}`).toEqual(newestFirst.slice(offset, offset + limit));
      expect(page.json.totalCount).toBe(8);
      expect(page.json.hasMore).toBe(offset + limit < 8);
    }
    expect((await api(`/jobs?queue=${queue}&status=completed`)).json.totalCount).toBe(4);
    expect((await api(`/jobs?queue=${queue}&status=pending`)).json.totalCount).toBe(4);
    expect((await api(`/jobs?queue=${queue}&search=done`)).json.totalCount).toBe(4);
    expect((await api(`/jobs?queue=${queue}&search=waiting`)).json.jobs.map((j: any) => j.id)).toEqual([...newestFirst.slice(0, 3), ids[0]]);
    expect((await api(`/jobs?queue=${queue}&search=${ids[1]}`)).json.jobs.map((j: any) => j.id)).toEqual([ids[1]]);
    for (const id of [ids[0], ...ids.slice(5)]) await api(`/jobs/${id}/cancel`, { method: "POST" });
  });
});

describe("actions on archived jobs", () => {
  it("re-runs an archived job once, listed once while it is live again, with its archived attempt kept", async () => {
    const queue = uniqueQueue("revive");
    const id = (await api("/jobs", { body: { type: "echo", parameters: { message: 7 }, queue } })).json.id;
    await waitForStatus(id, ["completed"]);
    await flushQueues(queue);

    expect((await api(`/jobs/${id}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await api(`/jobs/${id}/retry`, { method: "POST" })).status).toBe(409);
    const rerun = await api(`/jobs/${id}/execute`, { method: "POST", body: { delay: "00:10:00" } });
    expect(rerun.status).toBe(202);
    expect(rerun.json).toMatchObject({ id, status: "pending" });
    const listed = await api(`/jobs?queue=${queue}`);
    expect(listed.json.jobs.map((j: any) => [j.id, j.status])).toEqual([[id, "pending"]]);
    expect(listed.json.totalCount).toBe(1);
    expect((await api(`/jobs/${id}`)).json.executionHistory.map((a: any) => a.status)).toEqual(["completed"]);

    expect((await api(`/jobs/${id}/execute`, { method: "POST" })).status).toBe(202);
    const done = await waitFor(async () => {
      const j = (await api(`/jobs/${id}`)).json;
      return j.status === "completed" && j.executionHistory.length === 2 ? j : null;
    });
    expect(done.result).toEqual({ echo: 7, attempt: 2 });
    await flushQueues(queue);
    expect((await api(`/jobs/${id}`)).json.executionHistory.map((a: any) => [a.attempt, a.status])).toEqual([
      [1, "completed"],
      [2, "completed"],
    ]);
    expect((await api(`/jobs?queue=${queue}&status=completed`)).json.totalCount).toBe(1);
  });

  it("retries archived failed jobs in bulk and counts what it matched", async () => {
    const queue = uniqueQueue("bulk-archive");
    const created = await api("/jobs/batch", { body: { jobs: Array.from({ length: 3 }, () => ({ type: "echo", parameters: { fail: true }, maxRetries: 0, queue })) } });
    const ids = created.json.jobs.map((j: any) => j.id as string);
    for (const id of ids) await waitForStatus(id, ["failed"]);
    await flushQueues(queue);
    const dry = await api("/jobs/bulk", { body: { action: "retry", filter: { queue }, dryRun: true } });
    expect(dry.json).toMatchObject({ matched: 3, succeeded: 0 });
    const res = await api("/jobs/bulk", { body: { action: "retry", filter: { queue } } });
    expect(res.json).toMatchObject({ matched: 3, succeeded: 3, skipped: 0, hasMore: false });
    for (const id of ids) expect((await waitForStatus(id, ["failed"])).executionHistory).toHaveLength(2);
  });
});

describe("jobs whose ids name no queue", () => {
  it("are found through their archived row, read the same as before the flush, and re-run", async () => {
    const wbt = (path: string, init: RequestInit = {}) =>
      exports.default.fetch(new Request(`http://edge-ticker.test/api/jobs${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" } }));
    const created = await (await wbt("", { method: "POST", body: JSON.stringify({ businessId: "ARCHIVE-1", jobType: 2, name: "count", configuration: '{"handler":"word-count","text":"x y"}' }) })).json<any>();
    const done = await waitForStatus(created.id, ["completed"]);
    const before = await (await wbt(`/${created.id}`)).json();
    await flushQueues(done.queue);
    expect(await env.DB.prepare(`SELECT status FROM jobs WHERE id = ?1`).bind(created.id).first()).toEqual({ status: "completed" });
    expect(await (await wbt(`/${created.id}`)).json()).toEqual(before);
    expect((await api(`/jobs/${created.id}`)).json).toMatchObject({ id: created.id, status: "completed", result: { words: 2, characters: 3 } });
    expect((await wbt(`/${created.id}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await api(`/jobs/${created.id}/execute`, { method: "POST" })).status).toBe(202);
    const again = await waitFor(async () => {
      const j = (await api(`/jobs/${created.id}`)).json;
      return j.status === "completed" && j.executionHistory.length === 2 ? j : null;
    });
    expect(again.attempts).toBe(2);
  });
});

describe("rows the previous engine left live in D1", () => {
  it("are read, listed and counted once, and cancelled through the queue's scheduler", async () => {
    const queue = uniqueQueue("legacy");
    const now = Date.now();
    // As the previous engine wrote them: an id without a queue tag, a pending row, the queue's row.
    const id = `job_${crypto.randomUUID().replaceAll("-", "").slice(0, 26)}`;
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO queues (name, created_at, updated_at) VALUES (?1, ?2, ?2)`).bind(queue, now),
      env.DB.prepare(
        `INSERT INTO jobs_legacy (id, queue, type, name, status, priority, parameters, run_at, max_retries, created_at, updated_at)
         VALUES (?1, ?2, 'echo', 'left pending', 'pending', 1, '{}', ?3, 3, ?4, ?4)`,
      ).bind(id, queue, now + 3600_000, now - 1000),
    ]);
    expect((await api(`/jobs/${id}`)).json).toMatchObject({ id, status: "pending", name: "left pending" });
    // The queue keeps getting jobs after the upgrade.
    const fresh = (await api("/jobs", { body: later(queue, "new") })).json.id;
    const listed = await api(`/jobs?queue=${queue}`);
    expect(listed.json.jobs.map((j: any) => j.id)).toEqual([fresh, id]);
    expect(listed.json.totalCount).toBe(2);
    expect((await api(`/jobs?queue=${queue}&status=pending`)).json.totalCount).toBe(2);

    const cancelled = await api(`/jobs/${id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id, status: "cancelled" });
    expect((await api(`/jobs?queue=${queue}`)).json.totalCount).toBe(2);
    await flushQueues(queue);
    expect(await env.DB.prepare(`SELECT status FROM jobs WHERE id = ?1`).bind(id).first()).toEqual({ status: "cancelled" });
    expect((await api(`/jobs?queue=${queue}&status=cancelled`)).json.totalCount).toBe(1);
    expect((await api(`/jobs?queue=${queue}&status=pending`)).json.totalCount).toBe(1);
    await api(`/jobs/${fresh}/cancel`, { method: "POST" });
  });
});
