import { createEdgeTicker } from "./edge-ticker";
import { ownWorkerOptions } from "./own-worker";

/** This repository's own Worker, built with the same factory as a user's Worker. */
const ticker = createEdgeTicker(ownWorkerOptions);

export default ticker.handler;
export { QueueScheduler, RecurringScheduler, RealtimeHub, EndpointMonitor } from "./edge-ticker";
