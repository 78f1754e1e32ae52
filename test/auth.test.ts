import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { TICKET_TTL_MS } from "../src/db/realtime-tickets";
import { authenticateStream } from "../src/http/auth";
import worker from "../src/index";
import { ADMIN, api, BASE, waitFor } from "./helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");
/** A request to the Worker from outside, optionally from a given client address. */
const raw = (url: string, init: RequestInit & { ip?: string } = {}) => {
  const headers = new Headers(init.headers);
  if (init.ip) headers.set("cf-connecting-ip", init.ip);
  return exports.default.fetch(new Request(url, { ...init, headers }));
};
const upgrade = { upgrade: "websocket" };
const lastUsedAt = async (id: string) => (await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(id).first<{ last_used_at: number | null }>())!.last_used_at;

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
      // A list of one queue: an unfiltered list asks every queue's object, and with the suite's
      // hundreds of queues 40 of them could outlast the limiter's window.
      const jobs = await api("/jobs?limit=1&queue=rate-limit-probe", { token: key.key });
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

  it("takes a token from the URL only on the streaming routes", async () => {
    const q = `access_token=${ADMIN}`;
    for (const [method, url] of [
      ["GET", `${BASE}/jobs?${q}`],
      ["GET", `${BASE}/keys?${q}`],
      ["POST", `${BASE}/realtime/tickets?${q}`],
      ["GET", `${root}/api/jobs/nope?${q}`],
      ["GET", `${root}/metrics?${q}`],
    ]) {
      const res = await raw(url, { method });
      expect(res.status, url).toBe(401);
      expect(await res.json(), url).toMatchObject({ error: "unauthorized" });
    }
    const ws = await raw(`${BASE}/ws?${q}`, { headers: upgrade });
    expect(ws.status).toBe(101);
    ws.webSocket!.accept();
    ws.webSocket!.close();
    expect((await raw(`${BASE}/hub/negotiate?${q}`, { method: "POST" })).status).toBe(200);
    expect((await raw(`${root}/hubs/job-progress/negotiate?${q}`, { method: "POST" })).status).toBe(200);
    const sse = await raw(`${BASE}/events?${q}`);
    expect(sse.status).toBe(200);
    await sse.body!.cancel();
  });

  it("issues single-use, short-lived tickets for the streaming routes", async () => {
    expect((await api("/realtime/tickets", { method: "POST", token: null })).status).toBe(401);
    const writer = await createKey(["tickerq:write"]);
    expect((await api("/realtime/tickets", { method: "POST", token: writer.key })).status).toBe(403);
    const reader = await createKey(["tickerq:read"]);
    const issue = async (token = reader.key) => {
      const res = await api("/realtime/tickets", { method: "POST", token });
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ ticket: expect.stringMatching(/^etr_[A-Za-z0-9_-]{32}$/), expiresAt: expect.any(String), expiresIn: TICKET_TTL_MS / 1000 });
      return res.json.ticket as string;
    };
    const ticket = await issue();
    // Not a credential for anything but the streaming routes.
    expect((await api("/jobs", { token: ticket })).status).toBe(401);
    const ws = await raw(`${BASE}/ws?access_token=${ticket}`, { headers: upgrade });
    expect(ws.status).toBe(101);
    ws.webSocket!.accept();
    ws.webSocket!.close();
    expect((await raw(`${BASE}/ws?access_token=${ticket}`, { headers: upgrade })).status).toBe(401);

    const sseTicket = await issue();
    const sse = await raw(`${BASE}/events?access_token=${sseTicket}`);
    expect(sse.status).toBe(200);
    await sse.body!.cancel();
    expect((await raw(`${BASE}/events?access_token=${sseTicket}`)).status).toBe(401);
    expect((await raw(`${root}/hubs/job-progress/negotiate?access_token=${await issue(ADMIN)}`, { method: "POST" })).status).toBe(200);

    // Expired, or its key revoked before it is used: refused.
    expect(await authenticateStream(env, await issue(), Date.now() + TICKET_TTL_MS + 1)).toBeNull();
    const orphan = await issue();
    expect((await api(`/keys/${reader.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await raw(`${BASE}/hub/negotiate?access_token=${orphan}`, { method: "POST" })).status).toBe(401);
    const stored = await env.DB.prepare("SELECT ticket_hash FROM realtime_tickets").all<{ ticket_hash: string }>();
    expect(JSON.stringify(stored.results)).not.toContain(orphan);
  });

  it("authenticates /api/jobs and /hubs/job-progress once per request (one rate-limit token)", async () => {
    const key = await createKey(["tickerq:read"]);
    // The test limiter allows 25 requests in 10 s: 20 requests cost 40 tokens if each is authenticated twice.
    for (let i = 0; i < 20; i++) {
      expect((await raw(`${root}/api/jobs/wbt_nope_${i}`, { headers: { authorization: `Bearer ${key.key}` } })).status, `request ${i}`).toBe(404);
    }
    const other = await createKey(["tickerq:read"]);
    for (let i = 0; i < 20; i++) {
      expect((await raw(`${root}/hubs/job-progress/negotiate`, { method: "POST", headers: { authorization: `Bearer ${other.key}` } })).status, `negotiate ${i}`).toBe(200);
    }
  });

  it("records when a key was last used, at most once a minute", async () => {
    const key = await createKey(["tickerq:read"]);
    expect(await lastUsedAt(key.id)).toBeNull();
    expect((await api("/jobs?limit=1", { token: key.key })).status).toBe(200);
    const first = await waitFor(() => lastUsedAt(key.id));
    const listed = (await api("/keys")).json.keys.find((k: any) => k.id === key.id);
    expect(listed.lastUsedAt).toBe(new Date(first).toISOString());
    for (let i = 0; i < 3; i++) expect((await api("/jobs?limit=1", { token: key.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(await lastUsedAt(key.id)).toBe(first);
  });

  it("refuses an ADMIN_TOKEN shorter than 32 characters, and says so once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const short = "short-admin-token-1234567890";
      const shortEnv = { ...env, ADMIN_TOKEN: short };
      for (let i = 0; i < 3; i++) {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`${BASE}/jobs`, { headers: { authorization: `Bearer ${short}` } }), shortEnv, ctx);
        await waitOnExecutionContext(ctx);
        expect(res.status).toBe(401);
      }
      const logged = errors.mock.calls.filter(([m]) => String(m).includes("ADMIN_TOKEN"));
      expect(logged).toHaveLength(1);
      expect(String(logged[0][0])).toMatch(/fewer than 32/);
    } finally {
      errors.mockRestore();
    }
  });

  it("rate limits failed authentication by client address, before looking at the token", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const statuses: number[] = [];
    // The limiter counts in fixed 60 s windows: a window may end during the loop, so allow for a second one.
    for (let i = 0; i < 200 && !statuses.includes(429); i++) {
      statuses.push((await raw(`${BASE}/jobs`, { ip, headers: { authorization: `Bearer etk_${"x".repeat(32)}` } })).status);
    }
    expect(statuses.slice(0, 60).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Refused before authentication: even a good token from that address, on any route.
    const blocked = await raw(`${BASE}/jobs`, { ip, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(blocked.status).toBe(429);
    expect(await blocked.json()).toMatchObject({ error: "rate_limited" });
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await raw(`${BASE}/ws?access_token=${ADMIN}`, { ip, headers: upgrade })).status).toBe(429);
    // Other addresses are not affected.
    expect((await raw(`${BASE}/jobs`, { ip: "192.0.2.7", headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });
});
