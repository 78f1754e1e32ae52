// Cost per million jobs from the operations the Worker actually performed (its METERING counters),
// priced at Cloudflare's published Workers Paid rates (usage beyond the monthly inclusions).
export const PRICES_USD_PER_MILLION = {
  workerRequests: 0.3,
  d1RowsRead: 0.001,
  d1RowsWritten: 1.0,
  doRequests: 0.15,
  doRowsRead: 0.001,
  doRowsWritten: 1.0,
  queueOperations: 0.4,
};
/** Durable Object duration: $12.50 per million GB-s, billed at 128 MB per active object. */
const DO_GB_S_USD = 12.5 / 1e6;
const DO_GB = 0.128;

/** Workers CPU: $0.02 per million CPU-ms. */
const CPU_MS_USD = 0.02 / 1e6;

/**
 * Per-job operation counts and the dollar figure per million jobs. Two upper bounds: `activeDoSeconds`
 * for DO duration (the wall time of the run times the objects involved) and `cpuMsPerJob` for
 * Workers CPU (all of workerd's CPU time).
 */
export function costPerMillion(counts, jobs, activeDoSeconds, cpuMsPerJob) {
  const perJob = {
    workerRequests: counts.workerInvocations / jobs,
    d1RowsRead: counts.d1RowsRead / jobs,
    d1RowsWritten: counts.d1RowsWritten / jobs,
    doRequests: (counts.doRequests + counts.doAlarms) / jobs,
    doRowsRead: counts.doRowsRead / jobs,
    doRowsWritten: counts.doRowsWritten / jobs,
    queueOperations: (counts.queueWrites + counts.queueReads + counts.queueDeletes) / jobs,
  };
  const dollars = Object.fromEntries(Object.entries(perJob).map(([k, v]) => [k, round(v * PRICES_USD_PER_MILLION[k], 4)]));
  dollars.doDurationUpperBound = round(((activeDoSeconds * DO_GB * DO_GB_S_USD) / jobs) * 1e6, 4);
  dollars.workersCpuUpperBound = round(cpuMsPerJob * CPU_MS_USD * 1e6, 4);
  const total = round(Object.values(dollars).reduce((a, b) => a + b, 0), 3);
  return {
    perJob: Object.fromEntries(Object.entries(perJob).map(([k, v]) => [k, round(v, 3)])),
    usdPerMillion: dollars,
    totalUsdPerMillion: total,
    d1Queries: round(counts.d1Queries / jobs, 3),
    workerdCpuMsPerJob: round(cpuMsPerJob, 2),
  };
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;
