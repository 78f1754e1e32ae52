/**
 * Queues that still have jobs the previous engine left pending or running in D1: their schedulers
 * have not imported them yet (see the jobs_live index).
 */
export async function queuesWithLegacyJobs(env: Env): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT DISTINCT queue FROM jobs WHERE status IN ('pending', 'running')`).all<{ queue: string }>();
  return results.map((r) => r.queue);
}
