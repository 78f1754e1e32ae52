import { readSettings } from "../config";
import type { Settings } from "../config";
import { CANCELLED_WHILE_RUNNING, claimJobs, finishAttempts, markHandlersStarted, type AttemptOutcome, type Claim, type FinishedAttempt } from "../db/execution";
import { getJobsByIds } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { deliverEvents, eventOutbox } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../model/events";
import { releaseSlots } from "../scheduler/client";
import { asExecMessage, type ExecMessageBody, type ReleaseItem } from "../scheduler/messages";
import { takeResultWriteFault } from "./fault-hooks";
import { GroupCommit } from "./group-commit";
import { MessageSettlement } from "./message-settlement";
import { runAttempt } from "./run-attempt";
import { recordHandOff } from "../http-types/hand-off";

/** Attempts that end within this long of each other are recorded in one transaction. */
export const FINISH_WINDOW_MS = 10;
/** Waits between tries of an attempts' end that D1 refused; after the last, the queue redelivers. */
export const RESULT_WRITE_BACKOFF_MS = [100, 500, 2000];
/**
 * A message that arrives this much (or less) before its job is due by this consumer's clock means the
 * scheduler's clock runs ahead; a larger gap is an early duplicate, not clock skew.
 */
export const MAX_CLOCK_SKEW_MS = 5000;

/** One job of a message, with the settlement of the message that carried it. */
type Delivery = { msg: DispatchedJob; token: string; settlement: MessageSettlement };
type DispatchedJob = { jobId: string; attempt: number; queue: string };
type Ended = FinishedAttempt & { queue: string; next?: ReleaseItem["next"]; dispatched: number; token: string; settlement: MessageSettlement };

/**
 * The `exec` queue consumer. Every job of every message in a batch is claimed in one transaction,
 * the claimed attempts run concurrently, and attempts that end close together are recorded,
 * announced and released together, so the store and the schedulers see a few calls per batch
 * rather than several per job. A message is acked once all of its jobs are settled.
 */
export async function handleExecBatch(batch: MessageBatch<ExecMessageBody>, env: Env): Promise<void> {
  const settings = readSettings(env);
  const deliveries: Delivery[] = [];
  for (const message of batch.messages) {
    const { queue, token, jobs } = asExecMessage(message.body);
    if (message.attempts > 1) console.warn(`exec message ${token} delivered again (delivery ${message.attempts}); its claims refuse what already ran`);
    const settlement = new MessageSettlement(message, jobs.length);
    for (const [jobId, attempt] of jobs) deliveries.push({ msg: { jobId, attempt, queue }, token, settlement });
  }

  let claims: Map<string, Claim>;
  try {
    claims = await claimJobs(env, deliveries.map((d) => d.msg), Date.now(), eventOutbox);
  } catch (err) {
    console.error(`claim failed; the queue will redeliver messages ${batch.messages.map((m) => asExecMessage(m.body).token).join(", ")}`, err);
    for (const message of batch.messages) message.retry({ delaySeconds: 1 });
    return;
  }
  // A job claimed once per batch: a second copy of its message in the same batch is a duplicate.
  const winners: (Delivery & Claim)[] = [];
  const losers: Delivery[] = [];
  for (const d of deliveries) {
    const claim = claims.get(d.msg.jobId);
    if (claim && claim.job.attempt === d.msg.attempt + 1) {
      winners.push({ ...d, ...claim });
      claims.delete(d.msg.jobId);
    } else losers.push(d);
  }
  await releaseUnclaimed(env, losers.map((d) => d.msg));
  for (const d of losers) d.settlement.done();
  if (!winners.length) return;

  // Recorded before any handler runs: a lease that expires without this mark lost a consumer
  // before the handler started, and the retry it gets back does not count as one.
  await markHandlersStarted(env, winners.map((w) => ({ id: w.job.id, attempt: w.job.attempt })), Date.now()).catch((err) =>
    console.error("could not mark the handlers started; a lease expiry will not count them", err),
  );

  // Not awaited before the handlers start; every later delivery of this batch waits for it, so
  // subscribers still see each job start before it ends.
  const started = deliverEvents(env, winners.map((w) => w.event));
  // This invocation lasts until every attempt of the batch has ended: at the latest, its last lease.
  const invocationEnd = Math.max(...winners.map((w) => w.job.leaseUntil ?? 0));
  const recorder = new GroupCommit<Ended>(winners.length, FINISH_WINDOW_MS, (ended) => recordEnds(env, settings, ended, started));
  await Promise.all(
    winners.map(async ({ job, msg, token, settlement }) => {
      const report = await runAttempt(env, job, settings, started, invocationEnd);
      if ("handedOff" in report) return recordHandOff(env, job, msg.attempt, report.logs, started).finally(() => settlement.done());
      const next = report.outcome.kind === "retry" ? { jobId: job.id, attempt: job.attempt, runAt: report.outcome.runAt, priority: job.priority } : undefined;
      await recorder.add({
        job: { id: job.id, attempt: job.attempt, executedAt: job.executedAt ?? report.finishedAt },
        outcome: report.outcome,
        logs: report.logs,
        at: report.finishedAt,
        progress: report.progress,
        event: outcomeEvent(job, report.outcome, report.finishedAt),
        cancelEvent: report.outcome.kind === "retry" ? outcomeEvent(job, { kind: "cancelled", error: CANCELLED_WHILE_RUNNING }, report.finishedAt) : undefined,
        queue: job.queue,
        next,
        dispatched: msg.attempt,
        token,
        settlement,
      });
    }),
  );
}

/**
 * Records, announces and releases attempts that ended together; a message is acked once the ends of
 * all its jobs are settled. An end D1 keeps refusing is left to the queue: its message is
 * redelivered (even if its other jobs' ends were written), the claim guard refuses every job of it
 * (those jobs are finished or still running), and the lease decides the unwritten job's fate, so
 * an outcome that was never written is never acked as if it had been.
 */
async function recordEnds(env: Env, settings: Settings, ended: Ended[], started: Promise<void>): Promise<void> {
  let recorded: Map<string, string>;
  try {
    recorded = await withBackoff(RESULT_WRITE_BACKOFF_MS, () => {
      if (settings.faultInjection && takeResultWriteFault()) throw new Error("injected fault: result write failed");
      return finishAttempts(env, ended, eventOutbox);
    });
  } catch (err) {
    const tokens = [...new Set(ended.map((e) => e.token))];
    console.error(`could not record the attempts' end; the queue will redeliver messages ${tokens.join(", ")}`, err);
    for (const e of ended) e.settlement.failed();
    return;
  }
  // A retry whose cancel was requested meanwhile ended the job cancelled (see finishAttempts).
  const announced = ended.flatMap((e) => {
    const status = recorded.get(e.job.id);
    if (!status) return [];
    return [status === "cancelled" && e.cancelEvent ? e.cancelEvent : e.event];
  });
  await Promise.all([
    started.then(() => deliverEvents(env, announced)),
    releaseSlots(
      env,
      ended.map((e) => ({ queue: e.queue, item: { jobId: e.job.id, attempt: e.dispatched, next: recorded.get(e.job.id) === "pending" ? e.next : undefined } })),
    ).catch((err) => console.error("scheduler release failed; its heal will recover the slots", err)),
  ]);
  for (const e of ended) e.settlement.done();
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

function outcomeEvent(job: JobRow, outcome: AttemptOutcome, at: number): DomainEvent {
  const result = "result" in outcome && outcome.result != null ? JSON.parse(outcome.result) : null;
  switch (outcome.kind) {
    case "completed":
      return makeEvent("job.completed", jobEventData(job, { status: "completed", previousStatus: "running", completedAt: at, result }), at);
    case "retry":
      return makeEvent(
        "job.retrying",
        jobEventData(job, { status: "pending", previousStatus: "running", completedAt: at, error: outcome.error, result, nextRetryAt: outcome.runAt }),
        at,
      );
    case "failed":
      return makeEvent("job.failed", jobEventData(job, { status: "failed", previousStatus: "running", completedAt: at, error: outcome.error, result }), at);
    case "cancelled":
      return makeEvent("job.cancelled", jobEventData(job, { status: "cancelled", previousStatus: "running", completedAt: at, error: outcome.error }), at);
  }
}

/**
 * A message that claims nothing is either a duplicate of a running attempt (its slot is still in
 * use) or stale (cancelled, finished or rescheduled job), whose slot must be given back. A job it
 * leaves pending (a second message for it in the batch, or one that came before the job was due by
 * this clock) goes back on the scheduler's timeline with the release, instead of waiting for a heal.
 */
async function releaseUnclaimed(env: Env, msgs: DispatchedJob[]): Promise<void> {
  if (!msgs.length) return;
  try {
    const now = Date.now();
    const jobs = new Map((await getJobsByIds(env, msgs.map((m) => m.jobId))).map((j) => [j.id, j]));
    const released: { queue: string; item: ReleaseItem }[] = [];
    for (const msg of msgs) {
      const job = jobs.get(msg.jobId);
      if (job && job.status === "running" && job.attempt === msg.attempt + 1) continue;
      const next = job?.status === "pending" ? { jobId: job.id, attempt: job.attempt, runAt: rearmAt(job.runAt, now), priority: job.priority } : undefined;
      released.push({ queue: msg.queue, item: { jobId: msg.jobId, attempt: msg.attempt, next } });
    }
    await releaseSlots(env, released);
  } catch (err) {
    console.error("could not release stale dispatches; the scheduler's heal will", err);
  }
}

/**
 * When the scheduler should send a job again that this consumer found not yet due. Its clock ran
 * ahead by at least the gap, so sending it that much later keeps the two from bouncing the message.
 */
function rearmAt(runAt: number, now: number): number {
  const gap = runAt - now;
  return gap > 0 && gap <= MAX_CLOCK_SKEW_MS ? runAt + gap : runAt;
}
