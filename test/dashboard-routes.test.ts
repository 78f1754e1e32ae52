import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, BASE } from "./helpers";
import { SCOPES } from "../src/model/scopes";

const root = new URL(BASE).origin;

describe("the Worker's side of the dashboard", () => {
  it("sends / to the dashboard and tells it where the API is", async () => {
    const res = await exports.default.fetch(new Request(`${root}/`, { redirect: "manual" }));
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/dashboard/");
    const settings = await exports.default.fetch(new Request(`${root}/dashboard/settings.json`));
    expect(await settings.json()).toEqual({ apiBasePath: "/api/tickerq" });
  });

  it("GET /me names the token and its scopes, and needs a valid token", async () => {
    expect((await api("/me")).json).toEqual({ id: "admin-token", name: "ADMIN_TOKEN", scopes: [...SCOPES] });
    const key = await api("/keys", { body: { name: "viewer", scopes: ["tickerq:read"] } });
    const me = await exports.default.fetch(new Request(`${BASE}/me`, { headers: { authorization: `Bearer ${key.json.key}` } }));
    expect(await me.json()).toEqual({ id: key.json.id, name: "viewer", scopes: ["tickerq:read"] });
    const anon = await exports.default.fetch(new Request(`${BASE}/me`));
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: string }).error).toBe("unauthorized");
  });
});
