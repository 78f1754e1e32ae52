import { Hono } from "hono";
import { z } from "zod";
import { readSettings } from "../config";
import { findLiveJobs, flushLive, markLiveStarted, schedulerFor } from "../scheduler/client";
import { knownQueueNames } from "../scheduler/job-ids";
import { ObjectFaultKind } from "../scheduler/object-faults";
import { QueueNameSchema } from "../model/job";
import { getJobs } from "../services/job-reads";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { readJson } from "../http/validate";
import { packExecMessages } from "../scheduler/messages";
import { failNextResultWrites } from "../execution/fault-hooks";

/**
 * Fault injection for the fault suite, off unless FAULT_INJECTION=true (then admin only):
 * duplicate `exec` messages, a consumer that dies right after claiming, result writes that fail,
 * and a queue's object killed at a stage boundary of its write path.
 */
export const faultsApi = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!readSettings(c.env).faultInjection) throw notFound("Route");
    await next();
  })
  .use(requireScope("tickerq:admin"))
  .post("/duplicate-exec", async (c) => {
    const { jobIds, copies } = await readJson(c, z.strictObject({ jobIds: z.array(z.string()).min(1).max(100), copies: z.number().int().min(1).max(5).default(2) }));
    const jobs = await getJobs(c.env, jobIds);
    // Each queue's jobs packed as the scheduler packs them, several jobs per message; each message sent
    // `copies` times. Each job at its current (pending) or latest (running, finished) attempt.
    const byQueue = new Map<string, [string, number][]>();
    for (const j of jobs) byQueue.set(j.queue, [...(byQueue.get(j.queue) ?? []), [j.id, j.status === "pending" ? j.attempt : Math.max(0, j.attempt - 1)]]);
    const packed = [...byQueue].flatMap(([queue, dispatched]) => packExecMessages(queue, dispatched));
    const messages = packed.flatMap((body) => Array.from({ length: copies }, () => ({ body })));
    if (messages.length) await c.env.EXEC_QUEUE.sendBatch(messages);
    return c.json({ sent: messages.length, jobs: messages.reduce((n, m) => n + m.body.jobs.length, 0) });
  })
  .post("/crash-after-claim", async (c) => {
    // `handlerStarted`: the consumer dies mid-run instead of between the claim and the handler's start.
    const { jobId, handlerStarted } = await readJson(c, z.strictObject({ jobId: z.string(), handlerStarted: z.boolean().default(false) }));
    const job = (await findLiveJobs(c.env, [jobId])).get(jobId)?.job;
    if (!job) throw notFound("Job");
    if (job.status !== "pending") throw new ApiError(409, "conflict", "Only a pending job can be claimed.");
    const claimed = await schedulerFor(c.env, job.queue).claimForFault({ queue: job.queue, id: jobId });
    if (claimed && handlerStarted) await markLiveStarted(c.env, [{ queue: job.queue, id: jobId, attempt: claimed.attempt }]);
    return c.json({ claimed: !!claimed, leaseUntil: claimed?.leaseUntil ?? null });
  })
  // Kills the queue's object at the next crossing of a stage boundary (or at once: `now`); count 0 only names the instance.
  .post("/kill-object", async (c) => {
    const { queue, kind, count } = await readJson(c, z.strictObject({ queue: QueueNameSchema, kind: ObjectFaultKind, count: z.number().int().min(0).max(100).default(1) }));
    // The instance that took the order: a later call naming another one shows the kill happened.
    const { instance } = await schedulerFor(c.env, queue).armFault({ queue, kind, count });
    return c.json({ queue, kind, count, instance });
  })
  // Archives every queue's finished jobs to D1 now, so the persisted database can be checked.
  .post("/flush", async (c) => {
    const queues = await knownQueueNames(c.env);
    const archived = await Promise.all(queues.map((queue) => flushLive(c.env, queue)));
    return c.json({ queues: queues.length, archived: archived.reduce((n, a) => n + a.archived, 0) });
  })
  // The consumer's next `count` tries to record attempt outcomes throw (each retry with backoff is a try).
  .post("/fail-result-writes", async (c) => {
    const { count } = await readJson(c, z.strictObject({ count: z.number().int().min(0).max(1000) }));
    failNextResultWrites(count);
    return c.json({ failing: count });
  });
