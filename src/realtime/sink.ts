import type { EventSink } from "../events/publisher";
import { publishToHub } from "./client";
import { toPublishInput } from "./event-mapping";

/** Live subscribers: WebSocket topics, SSE streams and the SignalR hubs. */
export const realtimeSink: EventSink = {
  name: "realtime",
  async deliver(env, events) {
    const input = toPublishInput(events);
    if (input.messages.length || input.queues.length) await publishToHub(env, input);
  },
};
