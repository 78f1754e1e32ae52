import { Hono } from "hono";
import { readSettings } from "../config";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { readJson, readQuery } from "../http/validate";
import { monitorFor, notifyRemove, notifyUpsert, pickShard } from "../monitoring/client";
import {
  CreateEndpointSchema,
  endpointProblems,
  HistoryQuery,
  ListEndpointsQuery,
  PatchEndpointSchema,
  SchedulingQuery,
  toEndpoint,
  toLiveStatus,
  withTypeDefaults,
  type EndpointConfig,
  type LiveState,
} from "../monitoring/endpoint-model";
import { countEndpoints, deleteEndpoint, getEndpoint, insertEndpoint, listEndpoints, listShardEndpoints, updateEndpointConfig, type StoredEndpoint } from "../monitoring/endpoint-store";
import { endpointHistory } from "../monitoring/history";
import { checkUrl } from "../monitoring/run-check";
import { UNKNOWN_LIVE } from "../monitoring/status";
import { checkTarget } from "../net/ssrf";
import { limitsFor } from "../services/usage-limits";

const DEFAULT_HISTORY_HOURS = 24;
const HTTP_ONLY = ["scheme", "path", "method", "expectedStatus"] as const;

/** Seed 002's endpoints, at its own paths: /api/endpoints. */
export const endpointsApi = new Hono<AppEnv>()
  .post("/", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, CreateEndpointSchema);
    const { monitoring } = readSettings(c.env);
    const fields = withTypeDefaults({
      ...body,
      port: body.port ?? null,
      scheme: body.scheme ?? null,
      path: body.path ?? null,
      method: body.method ?? null,
      expectedStatus: body.expectedStatus ?? null,
      group: body.group ?? null,
    });
    refuseProblems(c.env, fields);
    const limits = limitsFor(c.env, c.get("principal"));
    if (limits && (await countEndpoints(c.env)) >= limits.maxEndpoints) {
      throw new ApiError(409, "endpoint_limit", `This deployment allows at most ${limits.maxEndpoints} endpoints; delete one first.`);
    }
    const config: EndpointConfig = { ...fields, id: newEndpointId(), shard: pickShard(monitoring.shards) };
    const now = Date.now();
    await insertEndpoint(c.env, config, now);
    try {
      await notifyUpsert(c.env, config, false);
    } catch (err) {
      // Unmonitored endpoints must not linger: a 2xx means the endpoint is being checked.
      await deleteEndpoint(c.env, config.id);
      throw err;
    }
    return c.json(toEndpoint(config, UNKNOWN_LIVE, { createdAt: now, updatedAt: now }), 201);
  })
  .get("/", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, ListEndpointsQuery);
    const { items, totalCount } = await listEndpoints(c.env, q);
    const live = await liveStates(c.env, items);
    return c.json({ endpoints: items.map((e) => present(e, live)), totalCount, hasMore: q.offset + items.length < totalCount });
  })
  .get("/scheduling", requireScope("tickerq:read"), async (c) => {
    const { samples } = readQuery(c, SchedulingQuery);
    const shards = Array.from({ length: readSettings(c.env).monitoring.shards }, (_, i) => i);
    return c.json({ shards: await Promise.all(shards.map((shard) => monitorFor(c.env, shard).stats({ shard, samples }))) });
  })
  .get("/:id", requireScope("tickerq:read"), async (c) => {
    const stored = await requireEndpoint(c.env, c.req.param("id"));
    return c.json(present(stored, await liveStates(c.env, [stored])));
  })
  .patch("/:id", requireScope("tickerq:write"), async (c) => {
    const body = await readJson(c, PatchEndpointSchema);
    const stored = await requireEndpoint(c.env, c.req.param("id"));
    const before = stored.config;
    // Turning an http endpoint into a tcp one drops the http-only fields it did not restate.
    const carried = body.type === "tcp" && before.type === "http" ? Object.fromEntries(HTTP_ONLY.map((f) => [f, null])) : {};
    const merged = { ...before, ...carried, ...definedOnly(body) };
    const fields = withTypeDefaults(merged);
    refuseProblems(c.env, fields);
    const config: EndpointConfig = { ...fields, id: before.id, shard: before.shard };
    const reEnabled = !before.enabled && config.enabled;
    const now = Date.now();
    await updateEndpointConfig(c.env, config, reEnabled, now);
    await notifyUpsert(c.env, config, reEnabled);
    const live = reEnabled ? { ...stored.live, status: "unknown" as const, previousStatus: null, consecutiveFailures: 0 } : stored.live;
    return c.json(toEndpoint(config, live, { createdAt: stored.createdAt, updatedAt: now }));
  })
  .delete("/:id", requireScope("tickerq:write"), async (c) => {
    const stored = await requireEndpoint(c.env, c.req.param("id"));
    await deleteEndpoint(c.env, stored.config.id);
    await notifyRemove(c.env, stored.config.shard, stored.config.id);
    return c.body(null, 204);
  })
  .get("/:id/history", requireScope("tickerq:read"), async (c) => {
    const q = readQuery(c, HistoryQuery);
    const stored = await requireEndpoint(c.env, c.req.param("id"));
    const now = Date.now();
    const to = q.end_time ? Date.parse(q.end_time) : now;
    const from = q.start_time ? Date.parse(q.start_time) : to - (q.hours ?? DEFAULT_HISTORY_HOURS) * 3_600_000;
    if (from > to) throw fieldError("start_time", "must not be after end_time");
    if (to - from > 7 * 86_400_000) throw fieldError("end_time", "the window may span at most 7 days");
    return c.json(await endpointHistory(c.env, stored, from, to));
  });

/** GET /api/status: the live status of every endpoint (seed 002 SDK's getLiveStatus). */
export const statusApi = new Hono<AppEnv>().get("/", requireScope("tickerq:read"), async (c) => {
  const { monitoring } = readSettings(c.env);
  const shards = Array.from({ length: monitoring.shards }, (_, i) => i);
  const stored = (await Promise.all(shards.map((s) => listShardEndpoints(c.env, s)))).flat().sort((a, b) => a.config.id.localeCompare(b.config.id));
  const live = await liveStates(c.env, stored);
  return c.json(stored.map((e) => toLiveStatus(present(e, live))));
});

function present(e: StoredEndpoint, live: Map<string, LiveState>) {
  return toEndpoint(e.config, live.get(e.config.id) ?? e.live, e);
}

/** The monitors' live state of these endpoints (one call per shard); D1's copy, as of the last flush, if a monitor does not answer. */
async function liveStates(env: Env, endpoints: StoredEndpoint[]): Promise<Map<string, LiveState>> {
  const shards = [...new Set(endpoints.map((e) => e.config.shard))];
  const out = new Map<string, LiveState>();
  await Promise.all(
    shards.map(async (shard) => {
      try {
        for (const { id, live } of await monitorFor(env, shard).live({ shard })) out.set(id, live);
      } catch (err) {
        console.warn(`endpoint monitor ${shard}: live status unavailable; answering from D1`, err);
      }
    }),
  );
  return out;
}

async function requireEndpoint(env: Env, id: string): Promise<StoredEndpoint> {
  const stored = await getEndpoint(env, id);
  if (!stored) throw notFound("Endpoint");
  return stored;
}

/** The rules between fields, and the outbound-request rule: a private or internal address only where ALLOW_PRIVATE_TARGETS is on. */
function refuseProblems(env: Env, fields: Parameters<typeof endpointProblems>[0]): void {
  const { monitoring, allowPrivateTargets } = readSettings(env);
  const problem = endpointProblems(fields, monitoring.minIntervalSeconds);
  if (problem) throw fieldError(problem.path, problem.message);
  const target = checkTarget(checkUrl({ ...fields, scheme: fields.scheme ?? "http" }), allowPrivateTargets);
  if (!target.ok) throw fieldError("address", `is refused: it ${target.reason}`);
}

const fieldError = (path: string, message: string) => new ApiError(400, "validation_error", `Invalid request: ${path}: ${message}`, [{ path, message }]);

const definedOnly = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

function newEndpointId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return `ep-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
