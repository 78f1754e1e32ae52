import { describe, expect, it } from "vitest";
import { api, BASE, uniqueQueue, waitForStatus } from "./helpers";
import { exports } from "cloudflare:workers";

const later = (queue: string, name: string) => ({ type: "echo", name, delay: "01:00:00", queue });

describe("POST /jobs/bulk", () => {
  it("counts with dryRun, then cancels every pending job matching the filters and nothing else", async () => {
    const queue = uniqueQueue("bulk");
    const other = uniqueQueue("bulk");
    const a = await api("/jobs", { body: later(queue, "invoice 1") });
    const b = await api("/jobs", { body: later(queue, "invoice 2") });
    const c = await api("/jobs", { body: later(queue, "receipt") });
    const d = await api("/jobs", { body: later(other, "invoice 3") });
    const done = await api("/jobs", { body: { type: "echo", name: "invoice done", queue } });
    await waitForStatus(done.json.id, ["completed"]);

    const filter = { queue, search: "invoice" };
    const dry = await api("/jobs/bulk", { body: { action: "cancel", filter, dryRun: true } });
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ action: "cancel", dryRun: true, matched: 2, succeeded: 0 });
    expect((await api(`/jobs/${a.json.id}`)).json.status).toBe("pending");

    const res = await api("/jobs/bulk", { body: { action: "cancel", filter } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ matched: 2, succeeded: 2, skipped: 0, hasMore: false });
    for (const [job, status] of [[a, "cancelled"], [b, "cancelled"], [c, "pending"], [d, "pending"], [done, "completed"]] as const) {
      expect((await api(`/jobs/${job.json.id}`)).json.status).toBe(status);
    }
    const again = await api("/jobs/bulk", { body: { action: "cancel", filter, dryRun: true } });
    expect(again.json.matched).toBe(0);
  });

  it("retries the given failed and cancelled jobs and skips the others", async () => {
    const queue = uniqueQueue("bulk");
    const failed = await api("/jobs", { body: { type: "echo", parameters: { fail: true }, maxRetries: 0, queue } });
    await waitForStatus(failed.json.id, ["failed"]);
    const cancelled = await api("/jobs", { body: later(queue, "x") });
    await api(`/jobs/${cancelled.json.id}/cancel`, { method: "POST" });
    const pending = await api("/jobs", { body: later(queue, "y") });

    const ids = [failed.json.id, cancelled.json.id, pending.json.id, "job_missing"];
    const dry = await api("/jobs/bulk", { body: { action: "retry", ids, dryRun: true } });
    expect(dry.json.matched).toBe(2);
    const res = await api("/jobs/bulk", { body: { action: "retry", ids } });
    expect(res.json).toMatchObject({ action: "retry", matched: 2, succeeded: 2, hasMore: false });
    expect((await waitForStatus(cancelled.json.id, ["completed"])).status).toBe("completed");
    expect((await api(`/jobs/${pending.json.id}`)).json.status).toBe("pending");
    expect((await waitForStatus(failed.json.id, ["failed", "completed"])).executionHistory).toHaveLength(2);
  });

  it("refuses bad bodies with a 400 naming the field, and changes nothing", async () => {
    const queue = uniqueQueue("bulk");
    const job = await api("/jobs", { body: later(queue, "keep") });
    const bad: [unknown, string][] = [
      [{ action: "cancel" }, "ids"],
      [{ action: "cancel", ids: [job.json.id], filter: { queue } }, "ids"],
      [{ action: "delete", filter: { queue } }, "action"],
      [{ action: "cancel", filter: { queue, colour: "red" } }, "filter"],
      [{ action: "cancel", filter: { status: "sleeping" } }, "filter.status"],
      [{ action: "cancel", ids: [] }, "ids"],
      [{ action: "cancel", ids: Array.from({ length: 101 }, (_, i) => `job_${i}`) }, "ids"],
      [{ action: "cancel", filter: { queue }, dryRun: "yes" }, "dryRun"],
    ];
    for (const [body, path] of bad) {
      const res = await api("/jobs/bulk", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toBe("validation_error");
      expect(res.json.details.map((d: any) => d.path).join(" ")).toContain(path);
    }
    expect((await api(`/jobs/${job.json.id}`)).json.status).toBe("pending");
  });

  it("needs the write scope", async () => {
    const key = await api("/keys", { body: { name: "reader", scopes: ["tickerq:read"] } });
    const res = await exports.default.fetch(
      new Request(`${BASE}/jobs/bulk`, {
        method: "POST",
        headers: { authorization: `Bearer ${key.json.key}`, "content-type": "application/json" },
        body: JSON.stringify({ action: "cancel", filter: {}, dryRun: true }),
      }),
    );
    expect(res.status).toBe(403);
  });
});

describe("GET /jobs search", () => {
  it("finds jobs by part of the name (wildcards taken literally) or by exact id", async () => {
    const queue = uniqueQueue("search");
    const a = await api("/jobs", { body: later(queue, "Nightly 100% export_a") });
    const b = await api("/jobs", { body: later(queue, "Nightly import") });
    const names = async (search: string) =>
      (await api(`/jobs?queue=${queue}&search=${encodeURIComponent(search)}`)).json.jobs.map((j: any) => j.id).sort();
    expect(await names("nightly")).toEqual([a.json.id, b.json.id].sort());
    expect(await names("100% export_")).toEqual([a.json.id]);
    expect(await names("%")).toEqual([a.json.id]);
    expect(await names(b.json.id)).toEqual([b.json.id]);
    expect((await api(`/jobs?search=`)).status).toBe(400);
  });
});
