import { z } from "zod";
import { iso } from "../lib/time";
import { monitorFor } from "./client";
import type { StoredEndpoint } from "./endpoint-store";
import { PackedCheckSchema, type PackedCheck } from "./rollup-data";

const MinuteSlice = z.object({ data: z.string().nullable() });
const ChangeRow = z.object({ at: z.number(), status: z.enum(["online", "offline"]), previous_status: z.enum(["unknown", "online", "offline"]).nullable(), response_time_ms: z.number().nullable() });

/**
 * An endpoint's checks in [from, to] (from its shard's minute rollups, with the checks its monitor
 * has not flushed yet) and its status changes in the same window, oldest first.
 */
export async function endpointHistory(env: Env, endpoint: StoredEndpoint, from: number, to: number) {
  const { id, shard } = endpoint.config;
  // SQLite extracts this endpoint's part of each packed row, so only that crosses the wire.
  const [minutes, changes] = await env.DB.batch([
    env.DB.prepare(`SELECT data ->> ? AS data FROM endpoint_rollups WHERE bucket = 'minute' AND shard = ? AND bucket_start >= ? AND bucket_start <= ? ORDER BY bucket_start`).bind(
      `$."${id}".c`,
      shard,
      from - 60_000,
      to,
    ),
    env.DB.prepare(`SELECT at, status, previous_status, response_time_ms FROM endpoint_status_changes WHERE endpoint_id = ? AND at >= ? AND at <= ? ORDER BY at`).bind(id, from, to),
  ]);
  const flushed = minutes.results.flatMap((r) => {
    const { data } = MinuteSlice.parse(r);
    return data ? z.array(PackedCheckSchema).parse(JSON.parse(data)) : [];
  });
  const unflushed: PackedCheck[] = await monitorFor(env, shard)
    .unflushedChecks({ shard, endpointId: id })
    .then((checks) => z.array(PackedCheckSchema).parse(checks))
    .catch((err) => {
      console.warn(`endpoint monitor ${shard}: unflushed checks unavailable`, err);
      return [] as PackedCheck[];
    });
  const byTime = new Map<number, PackedCheck>();
  for (const c of [...flushed, ...unflushed]) if (c[0] >= from && c[0] <= to) byTime.set(c[0], c);
  const checks = [...byTime.values()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, ok, rt, error]) => ({ timestamp: iso(at)!, status: ok ? ("success" as const) : ("failure" as const), responseTime: rt, error }));
  const statusChanges = changes.results.map((r) => {
    const c = ChangeRow.parse(r);
    return { timestamp: iso(c.at)!, status: c.status, previousStatus: c.previous_status, responseTime: c.response_time_ms };
  });
  return { endpointId: id, startTime: iso(from)!, endTime: iso(to)!, checks, statusChanges };
}
