import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { requestJson, type CallInit } from "./support/client-core";
import { ADMIN, api, targetUrl } from "./helpers";

const ROOT = "http://edge-ticker.test";
const call = (path: string, init: CallInit = {}) => requestJson((req) => exports.default.fetch(req), `${ROOT}${path}`, ADMIN, init);
const host = () => new URL(targetUrl()).hostname;
const port = () => Number(new URL(targetUrl()).port);
const count = async () => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM endpoints`).first<{ n: number }>())!.n;

async function createKey(scopes: string[]) {
  const res = await api("/keys", { body: { name: `key ${scopes.join("+")}`, scopes } });
  expect(res.status).toBe(201);
  return res.json.key as string;
}

describe("endpoints API", () => {
  it("creates an http endpoint with seed 002's fields and defaults, reads, lists, patches and deletes it", async () => {
    const created = await call("/api/endpoints", { body: { name: "router-01", address: host(), port: port(), scheme: "http", path: "/record/api-crud", group: "network" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "router-01",
      address: "127.0.0.1",
      type: "http",
      scheme: "http",
      method: "GET",
      intervalSeconds: 60,
      failureThreshold: 1,
      timeoutMs: 5000,
      enabled: true,
      group: "network",
      status: "unknown",
      previousStatus: null,
    });
    const id = created.json.id as string;
    expect(id).toMatch(/^ep-[0-9a-f]{20}$/);

    expect((await call(`/api/endpoints/${id}`)).json).toMatchObject({ id, name: "router-01" });
    const listed = await call("/api/endpoints?group=network");
    expect(listed.status).toBe(200);
    expect(listed.json.endpoints.map((e: { id: string }) => e.id)).toContain(id);
    expect((await call("/api/endpoints?group=elsewhere")).json).toMatchObject({ endpoints: [], totalCount: 0, hasMore: false });

    const patched = await call(`/api/endpoints/${id}`, { method: "PATCH", body: { name: "router-1", intervalSeconds: 30, enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ name: "router-1", intervalSeconds: 30, enabled: false });

    const status = await call("/api/status");
    expect(status.status).toBe(200);
    const entry = status.json.find((e: { id: string }) => e.id === id);
    expect(Object.keys(entry).sort()).toEqual(["address", "group", "id", "lastCheckedAt", "name", "previousStatus", "responseTime", "status", "statusChangedAt", "type"]);

    expect((await call(`/api/endpoints/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await call(`/api/endpoints/${id}`)).status).toBe(404);
    expect((await call(`/api/endpoints/${id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("turns an http endpoint into a tcp one, dropping the http-only fields", async () => {
    const created = await call("/api/endpoints", { body: { name: "svc", address: "example.com", enabled: false } });
    const patched = await call(`/api/endpoints/${created.json.id}`, { method: "PATCH", body: { type: "tcp", port: 22 } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ type: "tcp", port: 22, scheme: null, path: null, method: null });
  });

  it.each([
    ["a URL as address", { name: "x", address: "https://example.com/health" }, "address"],
    ["an address with a path", { name: "x", address: "example.com/health" }, "address"],
    ["a tcp endpoint without a port", { name: "x", address: "10.0.0.1", type: "tcp" }, "port"],
    ["http fields on a tcp endpoint", { name: "x", address: "10.0.0.1", type: "tcp", port: 22, path: "/" }, "path"],
    ["an unknown type", { name: "x", address: "example.com", type: "icmp" }, "type"],
    ["an interval below the minimum", { name: "x", address: "example.com", intervalSeconds: 0 }, "intervalSeconds"],
    ["a timeout as long as the interval", { name: "x", address: "example.com", intervalSeconds: 2, timeoutMs: 2000 }, "timeoutMs"],
    ["a port out of range", { name: "x", address: "example.com", port: 70000 }, "port"],
    ["a failure threshold of zero", { name: "x", address: "example.com", failureThreshold: 0 }, "failureThreshold"],
    ["an unknown field", { name: "x", address: "example.com", url: "https://example.com" }, ""],
    ["no name", { address: "example.com" }, "name"],
  ])("refuses %s with a 400 and stores nothing", async (_what, body, path) => {
    const before = await count();
    const res = await call("/api/endpoints", { body });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("validation_error");
    if (path) expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await count()).toBe(before);
  });

  it("refuses private and internal targets when ALLOW_PRIVATE_TARGETS is off, for http and tcp alike", async () => {
    const { buildApp } = await import("../src/http/app");
    const strictEnv = { ...env, ALLOW_PRIVATE_TARGETS: "false" } as Env;
    const app = buildApp("/api/tickerq");
    const before = await count();
    for (const body of [
      { name: "x", address: "127.0.0.1", port: 8080 },
      { name: "x", address: "169.254.169.254" },
      { name: "x", address: "10.1.2.3", type: "tcp", port: 22 },
      { name: "x", address: "db.internal", type: "tcp", port: 5432 },
    ]) {
      const res = await requestJson((req) => Promise.resolve(app.fetch(req, strictEnv)), `${ROOT}/api/endpoints`, ADMIN, { body });
      expect(res.status).toBe(400);
      expect(res.json.details[0].path).toBe("address");
    }
    expect(await count()).toBe(before);
  });

  it("refuses a bad patch and leaves the endpoint as it was", async () => {
    const created = await call("/api/endpoints", { body: { name: "keep", address: "example.com", enabled: false } });
    const res = await call(`/api/endpoints/${created.json.id}`, { method: "PATCH", body: { type: "tcp" } });
    expect(res.status).toBe(400);
    expect(res.json.details[0].path).toBe("port");
    expect((await call(`/api/endpoints/${created.json.id}`)).json).toMatchObject({ type: "http", name: "keep" });
    expect((await call(`/api/endpoints/ep-nothing`, { method: "PATCH", body: { name: "y" } })).status).toBe(404);
  });

  it("needs the write scope to change and the read scope to read", async () => {
    const reader = await createKey(["tickerq:read"]);
    const writer = await createKey(["tickerq:write"]);
    expect((await call("/api/endpoints", { token: reader, body: { name: "r", address: "example.com" } })).status).toBe(403);
    const created = await call("/api/endpoints", { token: writer, body: { name: "w", address: "example.com", enabled: false } });
    expect(created.status).toBe(201);
    expect((await call(`/api/endpoints/${created.json.id}`, { token: reader })).status).toBe(200);
    expect((await call("/api/status", { token: reader })).status).toBe(200);
    expect((await call(`/api/endpoints/${created.json.id}`, { token: writer })).status).toBe(403);
    expect((await call(`/api/endpoints/${created.json.id}`, { token: reader, method: "DELETE" })).status).toBe(403);
    expect((await call("/api/endpoints", { token: null })).status).toBe(401);
    expect((await call("/api/status", { token: null })).status).toBe(401);
  });

  it("validates the history window", async () => {
    const created = await call("/api/endpoints", { body: { name: "h", address: "example.com", enabled: false } });
    const id = created.json.id;
    expect((await call(`/api/endpoints/${id}/history?hours=0`)).status).toBe(400);
    expect((await call(`/api/endpoints/${id}/history?hours=2&start_time=2026-01-01T00:00:00Z`)).status).toBe(400);
    expect((await call(`/api/endpoints/${id}/history?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z`)).status).toBe(400);
    expect((await call(`/api/endpoints/${id}/history?start_time=yesterday`)).status).toBe(400);
    const ok = await call(`/api/endpoints/${id}/history?hours=1`);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ endpointId: id, checks: [], statusChanges: [] });
  });
});

describe("endpoint scheduling stats", () => {
  it("reports how late checks started, per shard, and validates its query", async () => {
    const res = await call("/api/endpoints/scheduling?samples=100");
    expect(res.status).toBe(200);
    expect(res.json.shards).toHaveLength(1);
    expect(res.json.shards[0]).toMatchObject({ shard: 0, latenessMs: expect.any(Object) });
    expect((await call("/api/endpoints/scheduling?samples=0")).status).toBe(400);
  });
});
