import { readSettings } from "../config";
import { groupBy } from "../lib/collections";
import type { Settings } from "../config";
import type { JobRow } from "../db/schema";
import type { AttemptOutcome, AttemptProgress, LogLine } from "../model/attempt";
import type { JobStatus } from "../model/job";
import { claimLiveMessages, finishAndTake, markLiveStarted, takeNextLive } from "../scheduler/client";
import type { EndedAttempt } from "../scheduler/live-protocol";
import { asExecMessage, type ExecMessageBody } from "../scheduler/messages";
import { recordHandOff } from "../http-types/hand-off";
import { takeResultWriteFault } from "./fault-hooks";
import { Chain, CHAIN_IDLE_WAIT_MS } from "./chain";
import { GroupCommit } from "./group-commit";
import { Heartbeat } from "./heartbeat";
import { MessageSettlement } from "./message-settlement";
import { runAttempt } from "./run-attempt";

/** Attempts that end within this long of each other are recorded in one call per queue. */
export const FINISH_WINDOW_MS = 10;
/** Waits between tries of an attempts' end that the scheduler refused; after the last, the queue redelivers. */
export const RESULT_WRITE_BACKOFF_MS = [100, 500, 2000];

/** What a job's end settles: its message's share, or nothing for a job claimed by the invocation itself. */
type Settlement = Pick<MessageSettlement, "done" | "failed">;
const NO_MESSAGE: Settlement = { done() {}, failed() {} };

/** One claimed attempt, with the settlement of the message that carried it. */
type Claimed = { job: JobRow; settlement: MessageSettlement };
type Ended = {
  queue: string;
  id: string;
  attempt: number;
  outcome: AttemptOutcome;
  logs: LogLine[];
  at: number;
  progress: AttemptProgress | null;
  settlement: Settlement;
};

/**
 * The `exec` queue consumer. The messages' jobs are claimed from their queues' schedulers, one call
 * per queue for all its messages, the claimed attempts run concurrently under one heartbeat, and attempts that
 * end close together are recorded together, one call per queue. A message is acked once all of
 * its jobs are settled; the schedulers announce every state change and free the slots themselves.
 *
 * The invocation then goes on (see Chain): each recording call also claims that queue's due jobs
 * for the room the ended attempts left, and while it has room it waits briefly in its queues'
 * schedulers for new ones. A busy queue's jobs then pass from attempt to attempt without a
 * message or a wait for the next batch each.
 */
export async function handleExecBatch(batch: MessageBatch<ExecMessageBody>, env: Env): Promise<void> {
  const settings = readSettings(env);
  const claimedPerQueue = await Promise.all([...groupBy(batch.messages, (m) => asExecMessage(m.body).queue)].map(([queue, messages]) => claimMessages(env, queue, messages)));
  const claimed = claimedPerQueue.flat();
  if (!claimed.length) return;

  // Recorded before any handler runs: a lease that expires without this mark lost a consumer
  // before the handler started, and the retry it gets back does not count as one.
  await markLiveStarted(env, claimed.map(({ job }) => ({ queue: job.queue, id: job.id, attempt: job.attempt }))).catch((err) =>
    console.error("could not mark the handlers started; a lease expiry will not count them", err),
  );

  const heartbeat = new Heartbeat(env);
  const chain = new Chain(claimed.map(({ job }) => job), settings.maxJobsPerInvocation);
  const work = new Set<Promise<void>>();
  const spawn = (task: Promise<void>) => {
    work.add(task);
    void task.finally(() => work.delete(task)).catch(() => {});
  };
  const waiting = new Set<string>();

  const start = (job: JobRow, settlement: Settlement) =>
    spawn(
      (async () => {
        const report = await runAttempt(env, job, settings, heartbeat, () => chain.end());
        chain.ended();
        if ("handedOff" in report) return recordHandOff(env, job, report.logs).finally(() => settlement.done());
        await recorder.add({ queue: job.queue, id: job.id, attempt: job.attempt, outcome: report.outcome, logs: report.logs, at: report.finishedAt, progress: report.progress, settlement });
      })(),
    );
  // Jobs claimed for this invocation itself: no message to settle; their leases decide if their end is never recorded.
  const startClaimed = (jobs: JobRow[]) => {
    recorder.expect(jobs.length);
    for (const job of jobs) start(job, NO_MESSAGE);
  };
  // An invocation with nothing left to run waits briefly for new jobs of a queue it just ran
  // (one wait per queue at a time); an empty wait ends its chain for that queue.
  const waitForMore = (queue: string) => {
    if (waiting.has(queue)) return;
    const room = chain.reserve();
    if (!room) return;
    waiting.add(queue);
    spawn(
      chain.track(
        takeNextLive(env, queue, room, CHAIN_IDLE_WAIT_MS).then(
          (jobs) => {
            waiting.delete(queue);
            chain.claimed(room, jobs);
            startClaimed(jobs);
          },
          (err) => {
            waiting.delete(queue);
            chain.claimed(room, []);
            console.warn(`could not take more jobs of queue ${queue}; its scheduler dispatches them`, err);
          },
        ),
      ),
    );
  };
  // With no room (the chain is over, or every slot of the invocation is running) it only records.
  const recordAndTake = async (queue: string, group: EndedAttempt[]) => {
    const room = chain.reserve();
    const ask = finishAndTake(env, queue, group, room);
    const out = await (room ? chain.track(ask) : ask).catch((err: unknown) => {
      chain.claimed(room, []);
      throw err;
    });
    const next = out.next ?? [];
    chain.claimed(room, next);
    startClaimed(next);
    if (!chain.running) waitForMore(queue);
    return new Map(Object.entries(out.statuses));
  };
  const recorder: GroupCommit<Ended> = new GroupCommit<Ended>(claimed.length, FINISH_WINDOW_MS, (ended) => recordEnds(settings, ended, recordAndTake));
  for (const { job, settlement } of claimed) start(job, settlement);
  while (work.size) await Promise.all(work);
}

/**
 * Claims the jobs of a batch's messages for one queue in one call (one journal row in its
 * scheduler). Jobs of a message that claimed nothing (duplicate, stale, not yet due) need nothing:
 * the scheduler still holds them and sends them again if their dispatch was lost.
 */
async function claimMessages(env: Env, queue: string, messages: readonly Message<ExecMessageBody>[]): Promise<Claimed[]> {
  const bodies = messages.map((m) => asExecMessage(m.body));
  messages.forEach((m, i) => {
    if (m.attempts > 1) console.warn(`exec message ${bodies[i].token} delivered again (delivery ${m.attempts}); its claims refuse what already ran`);
  });
  let claimed: JobRow[][];
  try {
    ({ claimed } = await claimLiveMessages(env, queue, bodies.map(({ token, jobs }) => ({ token, jobs }))));
  } catch (err) {
    console.error(`claim failed; the queue will redeliver messages ${bodies.map((b) => b.token).join(", ")}`, err);
    for (const m of messages) m.retry({ delaySeconds: 1 });
    return [];
  }
  return messages.flatMap((message, i) => {
    const settlement = new MessageSettlement(message, bodies[i].jobs.length);
    for (let j = claimed[i].length; j < bodies[i].jobs.length; j++) settlement.done();
    return claimed[i].map((job) => ({ job, settlement }));
  });
}

/**
 * Records attempts that ended together, one call per queue (`record`). A message is acked once the ends of all
 * its jobs are settled. An end its scheduler keeps refusing is left to the queue: the message is
 * redelivered (even if its other jobs' ends were recorded), its claims refuse every job of it
 * (those jobs are finished or still running), and the lease decides the unrecorded job's fate, so
 * an outcome that was never recorded is never acked as if it had been.
 */
async function recordEnds(settings: Settings, ended: Ended[], record: (queue: string, group: EndedAttempt[]) => Promise<Map<string, JobStatus>>): Promise<void> {
  await Promise.all(
    [...groupBy(ended, (e) => e.queue)].map(async ([queue, group]) => {
      let statuses: Map<string, JobStatus>;
      try {
        statuses = await withBackoff(RESULT_WRITE_BACKOFF_MS, () => {
          if (settings.faultInjection && takeResultWriteFault()) throw new Error("injected fault: result write failed");
          return record(queue, group.map(({ settlement: _, queue: __, ...end }) => end));
        });
      } catch (err) {
        console.error(`could not record the attempts' end in queue ${queue}; the queue will redeliver their messages`, err);
        for (const e of group) e.settlement.failed();
        return;
      }
      // An end missing from `statuses` came after its lease expired: the scheduler had already settled it.
      for (const e of group) {
        if (!statuses.has(e.id)) console.warn(`attempt ${e.attempt} of job ${e.id} ended after its lease expired; its end is not recorded`);
        e.settlement.done();
      }
    }),
  );
}

/** Runs `write`, trying again after each delay while it throws; rethrows the last error. */
async function withBackoff<T>(delaysMs: number[], write: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (i >= delaysMs.length) throw err;
      console.warn(`recording attempts failed (try ${i + 1}); trying again`, err);
      await new Promise((r) => setTimeout(r, delaysMs[i]));
    }
  }
}
