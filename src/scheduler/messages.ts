import { z } from "zod";

/**
 * Most jobs the scheduler packs into one `exec` message. The consumer runs every job of a batch at
 * once, so jobs per invocation = this × the consumer's max_batch_size (4 in wrangler.toml): 100, as
 * when each message carried one job. That bound is what keeps an invocation inside its limits: CPU
 * (every handler of the batch shares the invocation's CPU time), 6 simultaneous outbound
 * connections (further HTTP jobs of the batch wait for one, inside their own timeout) and 15 min
 * of wall time (every attempt is bounded by its lease, and the batch lasts as long as its longest).
 * Sending many jobs per message is what cuts Queue operations: 3 per message, not 3 per job.
 */
export const MAX_JOBS_PER_MESSAGE = 25;

/** One dispatched attempt in an exec message: the job's id and the attempt it claims from. */
const DispatchedJobSchema = z.tuple([z.string().min(1), z.number().int().min(0)]);

/**
 * The body of an `exec` queue message: ids only, never the job's parameters (25 jobs are about
 * 1 KB, far under the 128 KB message limit). `token` names one dispatch: every delivery of the
 * message carries the same token, a re-send of a lost dispatch gets a new one. The queue's
 * scheduler claims a job only for the message of its current dispatch (or, for a job it has not
 * dispatched, such as one sent before a restart, for any message with the right attempt), so a
 * lost message that turns up after its re-send claims nothing. The jobs bound is what any message may hold (about 40 KB), not the dispatch cap above: a
 * message sent under another cap during a deploy still runs.
 */
export const ExecMessageSchema = z.object({
  queue: z.string().min(1),
  token: z.string().min(1).max(100),
  jobs: z.array(DispatchedJobSchema).min(1).max(1000),
});
export type ExecMessage = z.infer<typeof ExecMessageSchema>;

/** The one-job body sent before messages carried many jobs; still run, for messages in flight during a deploy. */
export const SingleJobExecMessageSchema = z.object({ jobId: z.string().min(1), attempt: z.number().int().min(0), queue: z.string().min(1) });
export type SingleJobExecMessage = z.infer<typeof SingleJobExecMessageSchema>;

/** Every body the exec consumer runs. */
export const ExecMessageBodySchema = z.union([ExecMessageSchema, SingleJobExecMessageSchema]);
export type ExecMessageBody = z.infer<typeof ExecMessageBodySchema>;

/** Either body, as the many-job shape (a one-job body's token is made from its job and attempt). */
export function asExecMessage(body: ExecMessageBody): ExecMessage {
  if ("jobs" in body) return body;
  return { queue: body.queue, token: `single:${body.jobId}:${body.attempt}`, jobs: [[body.jobId, body.attempt]] };
}

/** Packs dispatched attempts, in order, into messages of at most MAX_JOBS_PER_MESSAGE jobs, each with its own token. */
export function packExecMessages(queue: string, jobs: [jobId: string, attempt: number][]): ExecMessage[] {
  const messages: ExecMessage[] = [];
  for (let i = 0; i < jobs.length; i += MAX_JOBS_PER_MESSAGE) {
    messages.push({ queue, token: crypto.randomUUID(), jobs: jobs.slice(i, i + MAX_JOBS_PER_MESSAGE) });
  }
  return messages;
}

/** At most `limit` starts in any `intervalMs` window. */
export const RateLimitSchema = z.object({ limit: z.number().int().min(1).max(10_000), intervalMs: z.number().int().min(1).max(86_400_000) });
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const QueueInput = z.object({ queue: z.string().min(1) });
export const ConfigureInput = z.object({
  queue: z.string().min(1),
  workers: z.number().int().min(1).max(1000).optional(),
  /** null removes the rate limit; absent leaves it as it is. */
  rateLimit: RateLimitSchema.nullable().optional(),
});

/** A scheduler's settings and load, as its status RPC reports them. */
export type SchedulerStatus = {
  queue: string | null;
  paused: boolean;
  workers: number;
  rateLimit: RateLimit | null;
  /** Bumped on every settings change; orders the writes of the D1 mirror. */
  version: number;
  due: number;
  inflight: number;
};
