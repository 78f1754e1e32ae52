import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { readJson } from "../http/validate";
import { grafanaAnnotations, grafanaQuery, queueNames, typeNames } from "../metrics/grafana";
import {
  GRAFANA_METRICS,
  GRAFANA_TAG_KEYS,
  GrafanaAnnotationsBody,
  GrafanaPayloadOptionsBody,
  GrafanaQueryBody,
  GrafanaSearchBody,
  GrafanaTagValuesBody,
  GrafanaVariableBody,
} from "../model/grafana";

const names = (env: Env, target: string | undefined) =>
  /^queues?$/i.test(target ?? "") ? queueNames(env) : /^types?$/i.test(target ?? "") ? typeNames(env) : null;

const options = (values: string[]) => values.map((v) => ({ label: v, value: v }));

/**
 * The JSON API datasource protocol (the simpod "JSON" Grafana plugin): the older endpoints
 * (/search, /annotations) and the newer ones (/metrics, /metric-payload-options, /variable).
 */
export const grafanaApi = new Hono<AppEnv>()
  .use(requireScope("tickerq:read"))
  .get("/", (c) => c.json({ status: "ok", datasource: "edge-ticker" }))
  .post("/search", async (c) => {
    const body = await readJson(c, GrafanaSearchBody, { optional: true });
    return c.json((await names(c.env, body.target)) ?? Object.keys(GRAFANA_METRICS));
  })
  .post("/metrics", async (c) => {
    await readJson(c, GrafanaPayloadOptionsBody.partial(), { optional: true });
    return c.json(
      Object.entries(GRAFANA_METRICS).map(([value, label]) => ({
        label,
        value,
        payloads: [
          { label: "Queue", name: "queue", type: "select", placeholder: "all queues" },
          { label: "Type", name: "type", type: "select", placeholder: "all job types" },
          { label: "Group by", name: "groupBy", type: "select", options: options(["queue", "type"]) },
          { label: "Format", name: "format", type: "select", options: options(["time_series", "table"]) },
        ],
      })),
    );
  })
  .post("/metric-payload-options", async (c) => {
    const body = await readJson(c, GrafanaPayloadOptionsBody);
    if (body.name === "groupBy") return c.json(options(["queue", "type"]));
    if (body.name === "format") return c.json(options(["time_series", "table"]));
    return c.json(options((await names(c.env, body.name)) ?? []));
  })
  .post("/variable", async (c) => {
    const body = await readJson(c, GrafanaVariableBody, { optional: true });
    const values = (await names(c.env, body.payload?.target)) ?? [];
    return c.json(values.map((v) => ({ __text: v, __value: v })));
  })
  .post("/query", async (c) => {
    return c.json(await grafanaQuery(c.env, await readJson(c, GrafanaQueryBody), Date.now()));
  })
  .post("/annotations", async (c) => {
    const body = await readJson(c, GrafanaAnnotationsBody);
    const range = { from: Date.parse(body.range.from), to: Date.parse(body.range.to) };
    return c.json(await grafanaAnnotations(c.env, range, body.annotation.query, body.annotation));
  })
  .post("/tag-keys", (c) => c.json(GRAFANA_TAG_KEYS.map((text) => ({ type: "string", text }))))
  .post("/tag-values", async (c) => {
    const { key } = await readJson(c, GrafanaTagValuesBody);
    return c.json((key === "queue" ? await queueNames(c.env) : await typeNames(c.env)).map((text) => ({ text })));
  });
