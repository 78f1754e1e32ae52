import { z } from "zod";

/** What the read surfaces show of an endpoint: who it is and its live status as of the last flush. */
const EndpointRowSchema = z.object({
  id: z.string(),
  name: z.string(),
  address: z.string(),
  type: z.string(),
  group_name: z.string().nullable(),
  enabled: z.number().int(),
  status: z.string(),
  last_response_time_ms: z.number().nullable(),
  checks_success: z.number().int(),
  checks_failure: z.number().int(),
  created_at: z.number().int(),
});
export type EndpointSummary = {
  id: string;
  name: string;
  address: string;
  type: string;
  group: string | null;
  enabled: boolean;
  status: string;
  lastResponseTimeMs: number | null;
  checksSuccess: number;
  checksFailure: number;
  createdAt: number;
};

/** Every endpoint, by name then id. */
export async function listEndpoints(env: Env): Promise<EndpointSummary[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, name, address, type, group_name, enabled, status, last_response_time_ms, checks_success, checks_failure, created_at FROM endpoints ORDER BY name, id`,
  ).all();
  return results.map((raw) => {
    const r = EndpointRowSchema.parse(raw);
    return {
      id: r.id,
      name: r.name,
      address: r.address,
      type: r.type,
      group: r.group_name,
      enabled: r.enabled === 1,
      status: r.status,
      lastResponseTimeMs: r.last_response_time_ms,
      checksSuccess: r.checks_success,
      checksFailure: r.checks_failure,
      createdAt: r.created_at,
    };
  });
}
