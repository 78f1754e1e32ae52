import { describe, expect, it } from "vitest";
import { api, uniqueQueue } from "./helpers";

describe("Idempotency-Key", () => {
  it("returns the same job for a repeat and 409 for another body", async () => {
    const key = `order-${crypto.randomUUID()}`;
    const body = { type: "echo", name: "once", delay: "01:00:00", queue: uniqueQueue() };
    const first = await api("/jobs", { body, headers: { "idempotency-key": key } });
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const second = await api("/jobs", { body, headers: { "idempotency-key": key } });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.json.id).toBe(first.json.id);
    expect((await api(`/jobs?queue=${body.queue}`)).json.totalCount).toBe(1);

    const other = await api("/jobs", { body: { ...body, name: "different" }, headers: { "idempotency-key": key } });
    expect(other.status).toBe(409);
    expect(other.json.error).toBe("idempotency_conflict");
    expect((await api(`/jobs?queue=${body.queue}`)).json.totalCount).toBe(1);

    const fresh = await api("/jobs", { body, headers: { "idempotency-key": `${key}-2` } });
    expect(fresh.json.id).not.toBe(first.json.id);
    await api(`/jobs/${first.json.id}/cancel`, { method: "POST" });
    await api(`/jobs/${fresh.json.id}/cancel`, { method: "POST" });
  });

  it("creates one job when the same key races", async () => {
    const key = `race-${crypto.randomUUID()}`;
    const body = { type: "echo", delay: "01:00:00", queue: uniqueQueue() };
    const results = await Promise.all(Array.from({ length: 5 }, () => api("/jobs", { body, headers: { "idempotency-key": key } })));
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.json.id));
    expect(ids.size).toBe(1);
    expect((await api(`/jobs?queue=${body.queue}`)).json.totalCount).toBe(1);
    await api(`/jobs/${[...ids][0]}/cancel`, { method: "POST" });
  });
});
