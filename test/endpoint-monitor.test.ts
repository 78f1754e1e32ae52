import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { monitorFor } from "../src/monitoring/client";
import { HourRollupSchema, MinuteRollupSchema } from "../src/monitoring/rollup-data";
import { requestJson, type CallInit } from "./support/client-core";
import { ADMIN, targetCalls, targetUrl, waitFor } from "./helpers";

const call = (path: string, init: CallInit = {}) => requestJson((req) => exports.default.fetch(req), `http://edge-ticker.test${path}`, ADMIN, init);
const target = () => new URL(targetUrl());

async function create(body: Record<string, unknown>) {
  const res = await call("/api/endpoints", { body: { intervalSeconds: 1, timeoutMs: 800, ...body } });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

const live = async (id: string) => (await call(`/api/endpoints/${id}`)).json;
const waitForStatus = (id: string, status: string, timeoutMs = 15_000) => waitFor(async () => ((await live(id)).status === status ? live(id) : null), timeoutMs);
const changes = async (id: string) =>
  (await env.DB.prepare(`SELECT status, previous_status FROM endpoint_status_changes WHERE endpoint_id = ? ORDER BY at`).bind(id).all<{ status: string; previous_status: string }>()).results;

describe("endpoint monitor", () => {
  it("checks an http endpoint on its schedule and records its first status as a change from unknown", async () => {
    const tag = `mon-http-${crypto.randomUUID()}`;
    const id = await create({ name: "web", address: target().hostname, port: Number(target().port), scheme: "http", path: `/record/${tag}`, group: "web" });
    const online = await waitForStatus(id, "online");
    expect(online.previousStatus).toBe("unknown");
    expect(online.responseTime).toBeGreaterThanOrEqual(0);
    await waitFor(async () => (await targetCalls(tag)).calls.length >= 2, 10_000);
    const { calls } = await targetCalls(tag);
    expect(calls[0]).toMatchObject({ method: "GET", path: `/record/${tag}` });
    // About one check a second, not a burst.
    expect(calls[1].at - calls[0].at).toBeGreaterThan(700);
    // A status change is flushed at once, with its row and the endpoint's status columns.
    await waitFor(async () => (await changes(id)).length === 1);
    expect(await changes(id)).toEqual([{ status: "online", previous_status: "unknown" }]);
    const row = await env.DB.prepare(`SELECT status, previous_status FROM endpoints WHERE id = ?`).bind(id).first();
    expect(row).toEqual({ status: "online", previous_status: "unknown" });
    await call(`/api/endpoints/${id}`, { method: "DELETE" });
  });

  it("goes offline after failureThreshold consecutive failures and online after one success", async () => {
    const tag = `mon-flaky-${crypto.randomUUID()}`;
    const base = { name: "api", address: target().hostname, port: Number(target().port), scheme: "http" };
    const id = await create({ ...base, path: `/record/${tag}?status=503`, failureThreshold: 3 });
    await waitFor(async () => (await targetCalls(tag)).calls.length >= 2, 10_000);
    expect((await live(id)).status).toBe("unknown");
    const offline = await waitForStatus(id, "offline");
    expect(offline).toMatchObject({ previousStatus: "unknown", responseTime: null });
    expect((await targetCalls(tag)).calls.length).toBeGreaterThanOrEqual(3);
    expect((await call(`/api/endpoints/${id}`, { method: "PATCH", body: { path: `/record/${tag}` } })).status).toBe(200);
    const online = await waitForStatus(id, "online");
    expect(online.previousStatus).toBe("offline");
    await waitFor(async () => (await changes(id)).length === 2);
    expect(await changes(id)).toEqual([
      { status: "offline", previous_status: "unknown" },
      { status: "online", previous_status: "offline" },
    ]);
    const history = await call(`/api/endpoints/${id}/history?hours=1`);
    expect(history.json.statusChanges.map((c: { status: string }) => c.status)).toEqual(["offline", "online"]);
    expect(history.json.checks.some((c: { status: string; error: string }) => c.status === "failure" && c.error === "HTTP 503")).toBe(true);
    expect(history.json.checks.some((c: { status: string }) => c.status === "success")).toBe(true);
    await call(`/api/endpoints/${id}`, { method: "DELETE" });
    expect(await changes(id)).toEqual([]);
  });

  it("honours expectedStatus and HEAD", async () => {
    const tag = `mon-expected-${crypto.randomUUID()}`;
    const id = await create({ name: "gone", address: target().hostname, port: Number(target().port), scheme: "http", path: `/record/${tag}?status=404`, expectedStatus: 404, method: "HEAD" });
    await waitForStatus(id, "online");
    expect((await targetCalls(tag)).calls[0].method).toBe("HEAD");
    await call(`/api/endpoints/${id}`, { method: "DELETE" });
  });

  it("checks a tcp endpoint by connecting to it", async () => {
    const up = await create({ name: "tcp-up", address: "127.0.0.1", type: "tcp", port: inject("tcpPort") });
    const down = await create({ name: "tcp-down", address: "127.0.0.1", type: "tcp", port: inject("closedTcpPort") });
    const online = await waitForStatus(up, "online");
    expect(online.responseTime).toBeGreaterThanOrEqual(0);
    await waitForStatus(down, "offline");
    const history = await call(`/api/endpoints/${down}/history?hours=1`);
    expect(history.json.checks[0]).toMatchObject({ status: "failure", responseTime: null });
    expect(history.json.checks[0].error).toBeTruthy();
    await call(`/api/endpoints/${up}`, { method: "DELETE" });
    await call(`/api/endpoints/${down}`, { method: "DELETE" });
  });

  it("ignores duplicate and late results, and flushes packed rollups that match their schemas", async () => {
    const id = await create({ name: "flush", address: "127.0.0.1", type: "tcp", port: inject("closedTcpPort"), intervalSeconds: 3600, timeoutMs: 500 });
    await waitForStatus(id, "offline");
    const stub = monitorFor(env, 0);
    // Checks that ran three minutes ago: their minute is sealed, so the next flush writes it.
    const startedAt = Date.now() - 180_000;
    const dueAt = Date.now() + 60_000;
    const result = (k: number, ok: boolean) => ({ endpointId: id, dueAt: dueAt + k, startedAt: startedAt + k, ok, responseTimeMs: ok ? 12 + k : null, error: ok ? null : "refused" });
    expect(await stub.report({ shard: 0, results: [result(1, true), result(2, true)] })).toEqual({ accepted: 2 });
    expect(await stub.report({ shard: 0, results: [result(2, true)] })).toEqual({ accepted: 0 });
    expect(await stub.report({ shard: 0, results: [result(1, false)] })).toEqual({ accepted: 0 });
    await stub.flushNow({ shard: 0 });

    const minuteStart = Math.floor(startedAt / 60_000) * 60_000;
    const minute = await env.DB.prepare(`SELECT data FROM endpoint_rollups WHERE bucket = 'minute' AND shard = 0 AND bucket_start = ?`).bind(minuteStart).first<{ data: string }>();
    const packed = MinuteRollupSchema.parse(JSON.parse(minute!.data));
    expect(packed[id].c).toEqual([
      [startedAt + 1, 1, 13, null],
      [startedAt + 2, 1, 14, null],
    ]);
    const hours = await env.DB.prepare(`SELECT data FROM endpoint_rollups WHERE bucket = 'hour' AND shard = 0`).all<{ data: string }>();
    const stats = hours.results.map((r) => HourRollupSchema.parse(JSON.parse(r.data))[id]).filter(Boolean);
    expect(stats.reduce((n, s) => n + s.n, 0)).toBe(3);
    expect(stats.reduce((n, s) => n + s.ok, 0)).toBe(2);
    const row = await env.DB.prepare(`SELECT status, checks_success, checks_failure FROM endpoints WHERE id = ?`).bind(id).first();
    expect(row).toEqual({ status: "online", checks_success: 2, checks_failure: 1 });
    await call(`/api/endpoints/${id}`, { method: "DELETE" });
  });
});

describe("endpoint-checks messages", () => {
  it("are run by the queue consumer whatever the queue is called, and their results reported to the shard", async () => {
    const { deliverBatch } = await import("./queue-helpers");
    const tag = `mon-route-${crypto.randomUUID()}`;
    const id = await create({ name: "routed", address: target().hostname, port: Number(target().port), scheme: "http", path: `/record/${tag}`, intervalSeconds: 3600, timeoutMs: 1000 });
    await waitForStatus(id, "online");
    const dueAt = Date.now() + 50;
    const check = { endpointId: id, dueAt, type: "http", address: target().hostname, port: Number(target().port), scheme: "http", path: `/record/${tag}?status=500`, method: "GET", expectedStatus: null, timeoutMs: 1000 };
    const result = await deliverBatch([{ kind: "endpoint-checks", shard: 0, checks: [check] }], { queueName: "renamed-exec" });
    expect(result.explicitAcks).toHaveLength(1);
    const calls = (await targetCalls(tag)).calls;
    // Held until its due time, then run.
    expect(calls.at(-1).at).toBeGreaterThanOrEqual(dueAt);
    expect(calls.at(-1).query).toEqual({ status: "500" });
    expect(await live(id)).toMatchObject({ status: "offline", previousStatus: "online" });
    await call(`/api/endpoints/${id}`, { method: "DELETE" });
  });
});
