// Cost per million jobs from the operations the Worker actually performed (the benchmark Worker's
// meter, src/metering/), priced at Cloudflare's published Workers Paid rates (usage beyond the
// monthly inclusions).
export const PRICES_USD_PER_MILLION = {
  workerRequests: 0.3,
  d1RowsRead: 0.001,
  d1RowsWritten: 1.0,
  doRequests: 0.15,
  doRowsRead: 0.001,
  doRowsWritten: 1.0,
  // An alarm is stored with the object: each setAlarm is billed as a storage write (a row written).
  doAlarmsSet: 1.0,
  queueOperations: 0.4,
  // The retention purge that deletes the job (and its attempts and logs) once RETENTION_DAYS have passed.
  retentionD1RowsRead: 0.001,
  retentionD1RowsWritten: 1.0,
};
/** D1 storage: $0.75 per GB-month. */
const D1_GB_MONTH_USD = 0.75;
/** Durable Object duration: $12.50 per million GB-s, billed at 128 MB per active object. */
const DO_GB_S_USD = 12.5 / 1e6;
const DO_GB = 0.128;

/** Workers CPU: $0.02 per million CPU-ms. */
const CPU_MS_USD = 0.02 / 1e6;

/**
 * Per-job operation counts and the dollar figure per million jobs. Two upper bounds: `activeDoSeconds`
 * for DO duration (the wall time of the run times the objects involved) and `cpuMsPerJob` for
 * Workers CPU (all of workerd's CPU time). `retention.purgePerJob`: the purge's rows per job, as
 * metered; `retention.storageBytesPerJob`: D1 bytes a finished job occupies, kept `days` days, so in
 * a steady state a month's million jobs hold days/30 million jobs' bytes all month.
 */
export function costPerMillion(counts, jobs, activeDoSeconds, cpuMsPerJob, retention) {
  const perJob = {
    workerRequests: counts.workerInvocations / jobs,
    d1RowsRead: counts.d1RowsRead / jobs,
    d1RowsWritten: counts.d1RowsWritten / jobs,
    doRequests: (counts.doRequests + counts.doAlarms) / jobs,
    doRowsRead: counts.doRowsRead / jobs,
    doRowsWritten: counts.doRowsWritten / jobs,
    doAlarmsSet: counts.doAlarmsSet / jobs,
    queueOperations: (counts.queueWrites + counts.queueReads + counts.queueDeletes) / jobs,
    retentionD1RowsRead: retention.purgePerJob.d1RowsRead,
    retentionD1RowsWritten: retention.purgePerJob.d1RowsWritten,
  };
  const dollars = Object.fromEntries(Object.entries(perJob).map(([k, v]) => [k, round(v * PRICES_USD_PER_MILLION[k], 4)]));
  dollars.d1Storage = round(((retention.storageBytesPerJob * 1e6) / 1e9) * D1_GB_MONTH_USD * (retention.days / 30), 4);
  dollars.doDurationUpperBound = round(((activeDoSeconds * DO_GB * DO_GB_S_USD) / jobs) * 1e6, 4);
  dollars.workersCpuUpperBound = round(cpuMsPerJob * CPU_MS_USD * 1e6, 4);
  const total = round(Object.values(dollars).reduce((a, b) => a + b, 0), 3);
  return {
    perJob: { ...Object.fromEntries(Object.entries(perJob).map(([k, v]) => [k, round(v, 3)])), d1StorageBytes: Math.round(retention.storageBytesPerJob) },
    usdPerMillion: dollars,
    totalUsdPerMillion: total,
    d1Queries: round(counts.d1Queries / jobs, 3),
    workerdCpuMsPerJob: round(cpuMsPerJob, 2),
  };
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;
