import { describe, expect, it } from "vitest";
import { api } from "./helpers";

describe("OpenAPI and docs", () => {
  it("serves an OpenAPI 3.1 document generated from the request schemas", async () => {
    const res = await api("/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const create = res.json.paths["/api/tickerq/jobs"].post.requestBody.content["application/json"].schema;
    const [oneOff, recurring] = create.anyOf;
    expect(oneOff.properties).toHaveProperty("delay");
    expect(oneOff.required).toContain("type");
    expect(recurring.required).toEqual(expect.arrayContaining(["type", "cronExpression"]));
    expect(res.json.paths["/api/tickerq/jobs"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["status", "limit", "offset"]));
  });

  it("serves a docs page", async () => {
    const res = await api("/docs", { token: null });
    expect(res.status).toBe(200);
    expect(String(res.json)).toContain("openapi.json");
  });
});

describe("OpenAPI: metrics, exports and Grafana", () => {
  it("documents the metrics, export and Grafana routes, and Prometheus at the root", async () => {
    const { paths } = (await api("/openapi.json", { token: null })).json;
    for (const path of ["/api/tickerq/metrics/system", "/api/tickerq/metrics/performance", "/api/tickerq/metrics/job-types", "/metrics", "/api/tickerq/export/jobs", "/api/tickerq/export/history"]) {
      expect(paths[path]?.get, path).toBeDefined();
    }
    for (const path of ["search", "query", "annotations", "tag-keys", "tag-values"]) expect(paths[`/api/tickerq/grafana/${path}`]?.post, path).toBeDefined();
    expect(paths["/api/tickerq/export/jobs"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["format", "status", "queue", "from", "to", "limit"]));
    expect(paths["/api/tickerq/metrics/performance"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["from", "to", "granularity", "queue", "type"]));
  });
});
