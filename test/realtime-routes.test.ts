import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, BASE } from "./helpers";

const root = BASE.replace(/\/api\/tickerq$/, "");

describe("live update routes", () => {
  it("refuse a plain GET, bad queries and missing tokens in the one error shape", async () => {
    expect((await api("/ws")).json).toMatchObject({ error: "upgrade_required" });
    expect((await api("/ws")).status).toBe(426);
    expect((await api("/hub")).status).toBe(426);
    const bad = await api("/ws?topics=job-status,weather&since=-3");
    expect(bad.status).toBe(400);
    expect(bad.json.details.map((d: any) => d.path).sort()).toEqual(["since", "topics[1]"]);
    expect((await api("/ws?colour=red")).status).toBe(400);
    expect((await api("/events?heartbeat=0")).status).toBe(400);
    expect((await api("/ws", { token: null })).status).toBe(401);
    expect((await api("/hub/negotiate", { method: "POST", token: "nope" })).status).toBe(401);
  });

  it("negotiate SignalR connections in both negotiate versions, at both hubs", async () => {
    const v1 = await api("/hub/negotiate?negotiateVersion=1", { method: "POST" });
    expect(v1.status).toBe(200);
    expect(v1.json).toEqual({
      negotiateVersion: 1,
      connectionId: expect.stringMatching(/^conn_/),
      connectionToken: expect.stringMatching(/^ctok_/),
      availableTransports: [{ transport: "WebSockets", transferFormats: ["Text"] }],
    });
    const res = await exports.default.fetch(new Request(`${root}/hubs/job-progress/negotiate`, { method: "POST", headers: { authorization: "Bearer test-admin-token-0123456789abcdef-0123" } }));
    expect(res.status).toBe(200);
    const v0 = await res.json<any>();
    expect(v0).not.toHaveProperty("connectionToken");
    expect(v0.availableTransports[0].transport).toBe("WebSockets");
    const anon = await exports.default.fetch(new Request(`${root}/hubs/job-progress/negotiate`, { method: "POST" }));
    expect(anon.status).toBe(401);
  });

  it("are in the OpenAPI document, the seed 003 hub at the root path", async () => {
    const doc = (await api("/openapi.json", { token: null })).json;
    expect(doc.paths["/api/tickerq/ws"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["topics", "queue", "jobId", "type", "since"]));
    expect(doc.paths["/api/tickerq/events"].get.parameters.map((p: any) => p.name)).toContain("heartbeat");
    expect(doc.paths["/api/tickerq/hub/negotiate"]).toHaveProperty("post");
    expect(doc.paths["/hubs/job-progress"]).toHaveProperty("get");
  });
});
