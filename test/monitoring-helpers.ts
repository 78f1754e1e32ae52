import type { EndpointStatusEventData } from "../src/model/events";

/** The data of an endpoint.status_changed event: seed 002's router-01 (ep-123, group network) unless overridden. */
export const endpointStatusChange = (
  data: Pick<EndpointStatusEventData, "status" | "previousStatus" | "responseTime"> & Partial<EndpointStatusEventData>,
): EndpointStatusEventData => ({
  endpointId: "ep-123",
  name: "router-01",
  address: "192.168.1.1",
  group: "network",
  type: "tcp",
  changedAt: "2024-01-15T10:30:00.000Z",
  ...data,
});
