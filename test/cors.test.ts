import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { ADMIN, BASE } from "./helpers";

const ALLOWED = "https://app.example.com";

/** The Worker with CORS_ORIGINS set, called as a browser would. */
async function fetchWith(corsOrigins: string | undefined, url: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch!(new Request(url, init) as any, { ...env, CORS_ORIGINS: corsOrigins } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const corsHeaders = (res: Response) => [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));

describe("CORS_ORIGINS", () => {
  const preflight = { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } };

  it("answers a preflight from a listed origin without a token, allowing Authorization and Content-Type", async () => {
    const res = await fetchWith(`https://other.example, ${ALLOWED}`, `${BASE}/jobs`, preflight);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase().split(",");
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type"]));
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("lets a listed origin read an actual response and its Retry-After, errors included", async () => {
    const ok = await fetchWith(ALLOWED, `${BASE}/jobs?limit=1`, { headers: { origin: ALLOWED, authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(ok.headers.get("access-control-expose-headers")).toContain("Retry-After");
    const denied = await fetchWith(ALLOWED, `${BASE}/jobs`, { headers: { origin: ALLOWED, authorization: "Bearer wrong-token" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  it("covers the WbtWebJob API at /api/jobs and Prometheus at /metrics", async () => {
    for (const url of ["http://edge-ticker.test/api/jobs", "http://edge-ticker.test/metrics"]) {
      const res = await fetchWith(ALLOWED, url, { ...preflight, headers: { ...preflight.headers, "access-control-request-method": "GET" } });
      expect(res.status, url).toBe(204);
      expect(res.headers.get("access-control-allow-origin"), url).toBe(ALLOWED);
    }
  });

  it("sends no CORS header to an unlisted origin, nor to anyone when the setting is empty", async () => {
    for (const setting of [ALLOWED, "", undefined]) {
      const origin = setting ? "https://evil.example" : ALLOWED;
      const pre = await fetchWith(setting, `${BASE}/jobs`, { ...preflight, headers: { ...preflight.headers, origin } });
      expect(corsHeaders(pre), `preflight, CORS_ORIGINS=${setting}`).toEqual([]);
      expect(pre.status).not.toBe(204);
      const res = await fetchWith(setting, `${BASE}/jobs?limit=1`, { headers: { origin, authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(200);
      expect(corsHeaders(res), `request, CORS_ORIGINS=${setting}`).toEqual([]);
    }
  });
});
