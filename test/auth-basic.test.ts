import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, api, BASE } from "./helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");
const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
const get = (url: string, authorization: string, ip = "203.0.113.9") => exports.default.fetch(new Request(url, { headers: { authorization, "cf-connecting-ip": ip } }));

describe("HTTP Basic with an API key as the password", () => {
  it("authenticates like the bearer token, whatever the user name, with the key's scopes", async () => {
    expect((await get(`${BASE}/jobs`, basic("admin", ADMIN))).status).toBe(200);
    expect((await get(`${root}/api/metrics`, basic("", ADMIN))).status).toBe(200);
    const key = (await api("/keys", { body: { name: "sdk login", scopes: ["tickerq:read"] } })).json;
    expect((await get(`${BASE}/jobs`, basic("anyone", key.key))).status).toBe(200);
    // The key's scopes still apply.
    const write = await exports.default.fetch(
      new Request(`${BASE}/jobs`, { method: "POST", headers: { authorization: basic("anyone", key.key), "content-type": "application/json" }, body: JSON.stringify({ type: "echo" }) }),
    );
    expect(write.status).toBe(403);
  });

  it("refuses a wrong password, no password, and malformed credentials with 401", async () => {
    for (const authorization of [basic("admin", "password"), basic("admin", ""), `Basic ${btoa(ADMIN)}`, "Basic not*base64", `Basic ${btoa(`admin:${ADMIN}`)} extra`]) {
      const res = await get(`${BASE}/jobs`, authorization, "203.0.113.10");
      expect(res.status, authorization).toBe(401);
      expect(await res.json()).toMatchObject({ error: "unauthorized" });
    }
  });

  it("failed Basic logins count toward the failed-authentication limit of the client's address", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const statuses: number[] = [];
    // The limiter counts in fixed 60 s windows: a window may end during the loop, so allow for a second one.
    for (let i = 0; i < 200 && !statuses.includes(429); i++) statuses.push((await get(`${BASE}/jobs`, basic("admin", "password"), ip)).status);
    expect(statuses.slice(0, 60).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    expect((await get(`${BASE}/jobs`, basic("admin", ADMIN), ip)).status).toBe(429);
  });
});
