import { describe, expect, it } from "vitest";
import { api } from "./helpers";

async function createKey(scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await api("/keys", { body: { name: `key ${scopes.join("+")}`, scopes, ...extra } });
  expect(res.status).toBe(201);
  return res.json as { id: string; key: string; prefix: string };
}

describe("auth", () => {
  it("needs a token everywhere but health and the API docs", async () => {
    expect((await api("/health", { token: null })).status).toBe(200);
    expect((await api("/openapi.json", { token: null })).status).toBe(200);
    for (const [method, path] of [["GET", "/jobs"], ["POST", "/jobs"], ["GET", "/keys"], ["GET", "/jobs/x"]]) {
      const res = await api(path, { method, token: null });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ error: "unauthorized" });
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await api("/jobs", { token: "not-a-real-token" })).status).toBe(401);
    expect((await api("/jobs", { token: "etk_forged" })).status).toBe(401);
  });

  it("enforces read, write and admin scopes", async () => {
    const reader = await createKey(["tickerq:read"]);
    const writer = await createKey(["tickerq:write"]);
    expect((await api("/jobs", { token: reader.key })).status).toBe(200);
    const denied = await api("/jobs", { token: reader.key, body: { type: "echo", delay: "01:00:00" } });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ error: "forbidden" });
    const created = await api("/jobs", { token: writer.key, body: { type: "echo", delay: "01:00:00" } });
    expect(created.status).toBe(201);
    expect((await api("/jobs", { token: writer.key })).status).toBe(403);
    expect((await api("/keys", { token: writer.key })).status).toBe(403);
    await api(`/jobs/${created.json.id}/cancel`, { method: "POST" });
  });

  it("shows a key once, stores only its hash, and revokes it at once", async () => {
    const key = await createKey(["tickerq:read"]);
    expect(key.key).toMatch(/^etk_/);
    const listed = (await api("/keys")).json.keys.find((k: any) => k.id === key.id);
    expect(listed).toMatchObject({ id: key.id, prefix: key.prefix, scopes: ["tickerq:read"], revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(key.key);
    const { env } = await import("cloudflare:workers");
    const row = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?").bind(key.id).first<{ key_hash: string }>();
    expect(row!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.key_hash).not.toContain(key.key);

    expect((await api("/jobs", { token: key.key })).status).toBe(200);
    expect((await api(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api("/jobs", { token: key.key })).status).toBe(401);
    expect((await api(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("refuses expired keys and keys created with a past expiry", async () => {
    const past = await api("/keys", { body: { name: "old", scopes: ["tickerq:read"], expiresAt: "2020-01-01T00:00:00Z" } });
    expect(past.status).toBe(400);
    const key = await createKey(["tickerq:read"], { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await api("/jobs", { token: key.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await api("/jobs", { token: key.key })).status).toBe(401);
  });

  it("rate limits an API key with 429 and Retry-After", async () => {
    const key = await createKey(["tickerq:read"]);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const res = await api("/health", { token: key.key });
      const jobs = await api("/jobs?limit=1", { token: key.key });
      statuses.push(jobs.status);
      if (jobs.status === 429) {
        retryAfter = jobs.headers.get("retry-after");
        expect(jobs.json).toMatchObject({ error: "rate_limited" });
        break;
      }
      expect(res.status).toBe(200);
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // The bootstrap token is not rate limited.
    for (let i = 0; i < 30; i++) expect((await api("/jobs?limit=1")).status).toBe(200);
  });

  it("validates key requests", async () => {
    for (const body of [{}, { name: "x", scopes: [] }, { name: "x", scopes: ["tickerq:root"] }, { name: "", scopes: ["tickerq:read"] }, { name: "x", scopes: ["tickerq:read"], extra: 1 }]) {
      const res = await api("/keys", { body });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("validation_error");
    }
  });
});
