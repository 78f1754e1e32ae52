import { faultsApi } from "./api/faults";
import type { EdgeTickerOptions } from "./edge-ticker";
import { wordCount } from "./jobs/examples/word-count";

/**
 * This repository's own Worker: an example job type, and the fault-injection routes the fault
 * suite uses (off unless FAULT_INJECTION is set). Not part of the package.
 */
export const ownWorkerOptions = {
  jobTypes: { "word-count": wordCount },
  extraRoutes: { "/_faults": faultsApi },
} satisfies EdgeTickerOptions;
