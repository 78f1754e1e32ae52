import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { monitorFor } from "../src/monitoring/client";
import { EndpointMonitor } from "../src/monitoring/endpoint-monitor";
import type { EndpointConfig } from "../src/monitoring/endpoint-model";
import { insertEndpoint } from "../src/monitoring/endpoint-store";
import { flushStatements } from "../src/monitoring/flush";
import { UNKNOWN_LIVE } from "../src/monitoring/status";

const config = (shard: number, extra: Partial<EndpointConfig> = {}): EndpointConfig => ({
  id: `ep-${crypto.randomUUID().slice(0, 8)}`,
  name: "server-01",
  address: "127.0.0.1",
  type: "tcp",
  port: inject("closedTcpPort"),
  scheme: null,
  path: null,
  method: null,
  expectedStatus: null,
  timeoutMs: 500,
  group: "servers",
  intervalSeconds: 3600,
  failureThreshold: 1,
  enabled: true,
  shard,
  ...extra,
});
const changeRows = async (id: string) => (await env.DB.prepare(`SELECT id, status, previous_status FROM endpoint_status_changes WHERE endpoint_id = ?`).bind(id).all()).results;

describe("endpoint flush", () => {
  it("writes a status change and raises its event once, however often the flush is sent", async () => {
    const c = config(0);
    await insertEndpoint(env, c, Date.now());
    const at = Date.now();
    const input = { shard: 0, live: [{ id: c.id, live: { ...UNKNOWN_LIVE, status: "offline" as const, previousStatus: "unknown" as const, statusChangedAt: at, checksFailure: 1 } }], changes: [{ endpointId: c.id, config: c, change: { status: "offline" as const, previousStatus: "unknown" as const, at, responseTimeMs: null } }], minutes: [], hours: [] };
    const first = flushStatements(env, input);
    await env.DB.batch(first.statements);
    await env.DB.batch(flushStatements(env, input).statements);
    expect(await changeRows(c.id)).toEqual([{ id: `esc_${c.id}_${at}`, status: "offline", previous_status: "unknown" }]);
    expect(first.events).toEqual([
      {
        id: `evt_esc_${c.id}_${at}`,
        type: "endpoint.status_changed",
        timestamp: new Date(at).toISOString(),
        data: { endpointId: c.id, name: "server-01", address: "127.0.0.1", group: "servers", type: "tcp", status: "offline", previousStatus: "unknown", responseTime: null, changedAt: new Date(at).toISOString() },
      },
    ]);
    expect(await env.DB.prepare(`SELECT status, checks_failure FROM endpoints WHERE id = ?`).bind(c.id).first()).toEqual({ status: "offline", checks_failure: 1 });
  });

  it("writes no status change for an endpoint deleted in the meantime", async () => {
    const c = config(0);
    const at = Date.now();
    const { statements } = flushStatements(env, { shard: 0, live: [], changes: [{ endpointId: c.id, config: c, change: { status: "online", previousStatus: "unknown", at, responseTimeMs: 3 } }], minutes: [], hours: [] });
    await env.DB.batch(statements);
    expect(await changeRows(c.id)).toEqual([]);
  });

  it("rebuilds its state after an eviction from its own storage: the last flush plus the journal of later results", async () => {
    const shard = 5;
    const stub = monitorFor(env, shard);
    const c = config(shard);
    await insertEndpoint(env, c, Date.now());
    await stub.upsert({ config: c, reEnabled: false });
    const dueAt = Date.now() + 60_000;
    const r = (k: number, ok: boolean) => ({ endpointId: c.id, dueAt: dueAt + k, startedAt: Date.now() - 5_000 + k, ok, responseTimeMs: ok ? 7 : null, error: ok ? null : "refused" });
    await stub.report({ shard, results: [r(1, true)] });
    await stub.flushNow({ shard });
    await stub.report({ shard, results: [r(2, false), r(3, true)] });
    const before = await stub.live({ shard });
    const checksBefore = await stub.unflushedChecks({ shard, endpointId: c.id });
    await runInDurableObject(stub, async (_instance: EndpointMonitor, state) => {
      const fresh = new EndpointMonitor(state, env);
      const after = await fresh.live({ shard });
      expect(after).toEqual(before);
      expect(after.find((e) => e.id === c.id)!.live).toMatchObject({ status: "online", checksSuccess: 2 });
      expect(await fresh.unflushedChecks({ shard, endpointId: c.id })).toEqual(checksBefore);
      // A result it already has is still ignored after the rebuild.
      expect(await fresh.report({ shard, results: [r(3, true)] })).toEqual({ accepted: 0 });
    });
  });

  it("writes a status change at once but other endpoints' counters only with every COUNTERS_EVERY_FLUSHES-th flush", async () => {
    const { waitFor } = await import("./helpers");
    const shard = 7;
    const stub = monitorFor(env, shard);
    const a = config(shard, { intervalSeconds: 3600 });
    const b = config(shard, { intervalSeconds: 3600, failureThreshold: 5 });
    for (const c of [a, b]) {
      await insertEndpoint(env, c, Date.now());
      await stub.upsert({ config: c, reEnabled: false });
    }
    await stub.flushNow({ shard });
    const dueAt = Date.now() + 60_000;
    const r = (id: string, ok: boolean) => ({ endpointId: id, dueAt, startedAt: Date.now(), ok, responseTimeMs: ok ? 4 : null, error: ok ? null : "refused" });
    await stub.report({ shard, results: [r(a.id, true), r(b.id, false)] });
    const row = (id: string) => env.DB.prepare(`SELECT status, checks_success, checks_failure FROM endpoints WHERE id = ?`).bind(id).first<{ status: string; checks_success: number; checks_failure: number }>();
    await waitFor(async () => (await row(a.id))!.status === "online");
    expect((await row(a.id))!.checks_success).toBe(1);
    const bLive = (await stub.live({ shard })).find((e) => e.id === b.id)!.live;
    expect(bLive.checksFailure).toBeGreaterThan((await row(b.id))!.checks_failure);
    await stub.flushNow({ shard });
    expect((await row(b.id))!.checks_failure).toBe(bLive.checksFailure);
  });

  it("rebuilds an empty object from D1", async () => {
    const shard = 6;
    const c = config(shard, { enabled: false });
    await insertEndpoint(env, c, Date.now());
    const live = await monitorFor(env, shard).live({ shard });
    expect(live.map((e) => e.id)).toEqual([c.id]);
  });
});

describe("endpoint rollup retention", () => {
  it("deletes minute rows past ENDPOINT_RAW_RETENTION_HOURS and hour rows past METRICS_RETENTION_DAYS", async () => {
    const { purgeEndpointRollups } = await import("../src/maintenance/endpoint-retention");
    const { readSettings } = await import("../src/config");
    const now = Date.now();
    const H = 3_600_000;
    const shard = 90;
    const put = (bucket: string, start: number) => env.DB.prepare(`INSERT INTO endpoint_rollups (bucket, bucket_start, shard, data) VALUES (?, ?, ?, '{}')`).bind(bucket, start, shard);
    await env.DB.batch([put("minute", now - 49 * H), put("minute", now - 47 * H), put("hour", now - 401 * 24 * H), put("hour", now - 49 * H)]);
    await purgeEndpointRollups(env, now, readSettings(env));
    const left = await env.DB.prepare(`SELECT bucket, bucket_start FROM endpoint_rollups WHERE shard = ? ORDER BY bucket, bucket_start`).bind(shard).all();
    expect(left.results).toEqual([
      { bucket: "hour", bucket_start: now - 49 * H },
      { bucket: "minute", bucket_start: now - 47 * H },
    ]);
  });
});
