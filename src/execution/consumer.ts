import { readSettings } from "../config";
import { claimJobs, finishAttempts, type AttemptOutcome, type Claim, type FinishedAttempt } from "../db/execution";
import { getJobsByIds } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { deliverEvents } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../events/types";
import { releaseSlots } from "../scheduler/client";
import { ExecMessageSchema, type ExecMessage, type ReleaseItem } from "../scheduler/messages";
import { GroupCommit } from "./group-commit";
import { runAttempt } from "./run-attempt";
import { recordHandOff } from "../http-types/hand-off";

/** Attempts that end within this long of each other are recorded in one transaction. */
export const FINISH_WINDOW_MS = 10;

type Delivery = { message: Message<unknown>; msg: ExecMessage };
type Ended = FinishedAttempt & { queue: string; next?: ReleaseItem["next"]; dispatched: number; message: Message<unknown> };

/**
 * The `exec` queue consumer. A batch is claimed in one transaction, its attempts run concurrently,
 * and attempts that end close together are recorded, announced and released together, so the
 * store and the schedulers see a few calls per batch rather than several per job.
 */
export async function handleExecBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const settings = readSettings(env);
  const deliveries: Delivery[] = [];
  for (const message of batch.messages) {
    const parsed = ExecMessageSchema.safeParse(message.body);
    if (parsed.success) deliveries.push({ message, msg: parsed.data });
    else {
      console.error("dropping malformed exec message", parsed.error.issues);
      message.ack();
    }
  }
  if (!deliveries.length) return;

  let claims: Map<string, Claim>;
  try {
    claims = await claimJobs(env, deliveries.map((d) => d.msg), Date.now());
  } catch (err) {
    console.error("claim failed; the queue will redeliver", err);
    for (const d of deliveries) d.message.retry({ delaySeconds: 1 });
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
  for (const d of losers) d.message.ack();
  if (!winners.length) return;

  // Not awaited before the handlers start; every later delivery of this batch waits for it, so
  // subscribers still see each job start before it ends.
  const started = deliverEvents(env, winners.map((w) => w.event));
  const recorder = new GroupCommit<Ended>(winners.length, FINISH_WINDOW_MS, (ended) => recordEnds(env, ended, started));
  await Promise.all(
    winners.map(async ({ job, msg, message }) => {
      const report = await runAttempt(env, job, settings, started);
      if ("handedOff" in report) return recordHandOff(env, job, msg.attempt, report.logs, started).finally(() => message.ack());
      const next = report.outcome.kind === "retry" ? { jobId: job.id, attempt: job.attempt, runAt: report.outcome.runAt, priority: job.priority } : undefined;
      await recorder.add({
        job: { id: job.id, attempt: job.attempt, executedAt: job.executedAt ?? report.finishedAt },
        outcome: report.outcome,
        logs: report.logs,
        at: report.finishedAt,
        progress: report.progress,
        event: outcomeEvent(job, report.outcome, report.finishedAt),
        queue: job.queue,
        next,
        dispatched: msg.attempt,
        message,
      });
    }),
  );
}

/** Records, announces and releases attempts that ended together; each message is acked once its end is settled. */
async function recordEnds(env: Env, ended: Ended[], started: Promise<void>): Promise<void> {
  let recorded: Set<string>;
  try {
    recorded = await finishAttempts(env, ended);
  } catch (err) {
    // The jobs stay running in D1; their leases expire and the reconciler settles them.
    console.error("could not record the attempts' end", err);
    for (const e of ended) e.message.ack();
    return;
  }
  await Promise.all([
    started.then(() => deliverEvents(env, ended.filter((e) => recorded.has(e.job.id)).map((e) => e.event))),
    releaseSlots(
      env,
      ended.map((e) => ({ queue: e.queue, item: { jobId: e.job.id, attempt: e.dispatched, next: recorded.has(e.job.id) ? e.next : undefined } })),
    ).catch((err) => console.error("scheduler release failed; its heal will recover the slots", err)),
  ]);
  for (const e of ended) e.message.ack();
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
 * use) or stale (cancelled, finished or rescheduled job), whose slot must be given back.
 */
async function releaseUnclaimed(env: Env, msgs: ExecMessage[]): Promise<void> {
  if (!msgs.length) return;
  try {
    const jobs = new Map((await getJobsByIds(env, msgs.map((m) => m.jobId))).map((j) => [j.id, j]));
    const stale = msgs.filter((msg) => {
      const job = jobs.get(msg.jobId);
      return !(job && job.status === "running" && job.attempt === msg.attempt + 1);
    });
    await releaseSlots(env, stale.map((msg) => ({ queue: msg.queue, item: { jobId: msg.jobId, attempt: msg.attempt } })));
  } catch (err) {
    console.error("could not release stale dispatches; the scheduler's heal will", err);
  }
}
