import { faultsApi } from "./api/faults";
import { meterApi } from "./api/meter";
import { createEdgeTicker } from "./edge-ticker";
import { wordCount } from "./jobs/examples/word-count";

/**
 * This repository's own Worker, built with the same factory as a user's Worker. Its fault-injection
 * and metering routes serve the fault suite and the cost benchmark and are not part of the package.
 */
const ticker = createEdgeTicker({
  jobTypes: { "word-count": wordCount },
  extraRoutes: { "/_faults": faultsApi, "/_meter": meterApi },
});

export default ticker.handler;
export { QueueScheduler, RecurringScheduler, RealtimeHub, EndpointMonitor } from "./edge-ticker";
