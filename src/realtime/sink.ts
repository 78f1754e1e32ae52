import { waitUntil } from "cloudflare:workers";
import type { EventSink } from "../events/publisher";
import { publishToHub } from "./client";
import { toPublishInput } from "./event-mapping";

/**
 * How long the job path waits for the hub. Long enough that events of one job reach the hub in
 * order while it answers normally; short enough that a slow or overloaded hub cannot hold a job
 * (or its lease) up.
 */
export const REALTIME_PUBLISH_WAIT_MS = 250;
/** After this the publish is given up (and logged); live subscribers then reload from the REST API. */
export const REALTIME_PUBLISH_TIMEOUT_MS = 5_000;

const after = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms));

/** Live subscribers: WebSocket topics, SSE streams and the SignalR hubs. Off the job path: never awaited for long. */
export const realtimeSink: EventSink = {
  name: "realtime",
  async deliver(env, events) {
    const input = toPublishInput(events);
    if (!input.messages.length && !input.queues.length) return;
    const published = Promise.race([publishToHub(env, input), after(REALTIME_PUBLISH_TIMEOUT_MS)]).then(
      (r) => r === "timeout" && console.warn(`live update publish gave up after ${REALTIME_PUBLISH_TIMEOUT_MS} ms`),
      (err) => console.error("live update publish failed", err),
    );
    waitUntil(published);
    await Promise.race([published, after(REALTIME_PUBLISH_WAIT_MS)]);
  },
};
