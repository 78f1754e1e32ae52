import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { readJson } from "../http/validate";
import { RESPONSE_TIME_AGGREGATIONS } from "../monitoring/check-stats";
import { listEndpoints } from "../monitoring/endpoint-directory";
import { ENDPOINT_STATUSES } from "../monitoring/endpoint-model";
import { endpointAnnotations, endpointGrafanaQuery } from "../monitoring/grafana";
import {
  ENDPOINT_METRICS,
  EndpointAnnotationsBody,
  EndpointGrafanaQueryBody,
  PayloadOptionsBody,
  SearchBody,
  TagValuesBody,
  VariableBody,
} from "../monitoring/grafana-model";

const options = (values: readonly string[]) => values.map((v) => ({ label: v, value: v }));
const endpointOptions = async (env: Env) => (await listEndpoints(env)).map((e) => ({ label: e.name, value: e.id }));
const wantsEndpoints = (target: string | undefined) => /^endpoints?(Id)?$/i.test(target ?? "");

/**
 * Seed 002's Grafana datasource: the simpod JSON API protocol, as at {base}/grafana for jobs, over
 * endpoint checks. Targets `availability`, `response_time` and `status_count`, each narrowed by `endpointId`.
 */
export const endpointGrafanaApi = new Hono<AppEnv>()
  .use(requireScope("tickerq:read"))
  .get("/", (c) => c.json({ status: "ok", datasource: "edge-ticker-endpoints" }))
  .post("/search", async (c) => {
    const body = await readJson(c, SearchBody, { optional: true });
    if (wantsEndpoints(body.target)) return c.json((await listEndpoints(c.env)).map((e) => ({ text: e.name, value: e.id })));
    return c.json(Object.keys(ENDPOINT_METRICS));
  })
  .post("/metrics", async (c) => {
    await readJson(c, PayloadOptionsBody.partial(), { optional: true });
    return c.json(
      Object.entries(ENDPOINT_METRICS).map(([value, label]) => ({
        label,
        value,
        payloads: [
          { label: "Endpoint", name: "endpointId", type: "select", placeholder: "all endpoints" },
          ...(value === "response_time" ? [{ label: "Aggregation", name: "aggregation", type: "select", options: options(RESPONSE_TIME_AGGREGATIONS) }] : []),
          ...(value === "status_count" ? [{ label: "Status", name: "status", type: "select", options: options(ENDPOINT_STATUSES) }] : [{ label: "Interval", name: "interval", type: "input", placeholder: "e.g. 5m" }]),
        ],
      })),
    );
  })
  .post("/metric-payload-options", async (c) => {
    const body = await readJson(c, PayloadOptionsBody);
    if (body.name === "aggregation") return c.json(options(RESPONSE_TIME_AGGREGATIONS));
    if (body.name === "status") return c.json(options(ENDPOINT_STATUSES));
    if (body.name === "endpointId") return c.json(await endpointOptions(c.env));
    return c.json([]);
  })
  .post("/variable", async (c) => {
    await readJson(c, VariableBody, { optional: true });
    return c.json((await listEndpoints(c.env)).map((e) => ({ __text: e.name, __value: e.id })));
  })
  .post("/query", async (c) => {
    return c.json(await endpointGrafanaQuery(c.env, await readJson(c, EndpointGrafanaQueryBody), Date.now()));
  })
  .post("/annotations", async (c) => {
    const body = await readJson(c, EndpointAnnotationsBody);
    return c.json(await endpointAnnotations(c.env, { from: Date.parse(body.range.from), to: Date.parse(body.range.to) }, body.annotation.query, body.annotation));
  })
  .post("/tag-keys", (c) => c.json([{ type: "string", text: "endpointId" }]))
  .post("/tag-values", async (c) => {
    await readJson(c, TagValuesBody);
    return c.json((await listEndpoints(c.env)).map((e) => ({ text: e.id })));
  });
