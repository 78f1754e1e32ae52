import { z } from "zod";

/** The `data` of an `endpoint.status_changed` event as a stored delivery carries it (EndpointStatusEventData). */
export const EndpointChangeSchema = z.looseObject({
  endpointId: z.string(),
  name: z.string(),
  address: z.string(),
  group: z.string().nullable(),
  type: z.string(),
  status: z.string(),
  previousStatus: z.string().nullable(),
  responseTime: z.number().nullable(),
  changedAt: z.string(),
});
export type EndpointChange = z.infer<typeof EndpointChangeSchema>;

export const isEndpointEvent = (type: string) => type === "endpoint.status_changed";

export function endpointChange(data: Record<string, unknown>): EndpointChange | null {
  const parsed = EndpointChangeSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}

/**
 * Seed 002's template variables: `endpoint.name`, `endpoint.address`, `endpoint.group`, `endpoint.id`,
 * `status`, `previous_status`, `response_time` (ms, empty when the check failed) and `timestamp`
 * (when the check that changed the status ran).
 */
export function endpointTemplateVariables(c: EndpointChange) {
  return {
    endpoint: { id: c.endpointId, name: c.name, address: c.address, group: c.group, type: c.type },
    status: c.status,
    previous_status: c.previousStatus,
    response_time: c.responseTime,
    timestamp: c.changedAt,
  };
}

/** Seed 002's Splunk HEC `event` fields, plus the event's identity. */
export function endpointSplunkEvent(c: EndpointChange, event: { id: string; type: string }) {
  return {
    endpoint: c.name,
    status: c.status,
    response_time: c.responseTime,
    group: c.group,
    timestamp: c.changedAt,
    previous_status: c.previousStatus,
    address: c.address,
    endpointId: c.endpointId,
    event: event.type,
    eventId: event.id,
  };
}
