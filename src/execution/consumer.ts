import { readSettings, type Settings } from "../config";
import { claimJob, finishAttempt, type AttemptOutcome } from "../db/execution";
import { getJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { deliverEvents } from "../events/publisher";
import { jobEventData, makeEvent, type DomainEvent } from "../events/types";
import { schedulerFor } from "../scheduler/client";
import { ExecMessageSchema, type ExecMessage } from "../scheduler/messages";
import { runAttempt } from "./run-attempt";

/** The `exec` queue consumer: every message of a batch is claimed and run concurrently. */
export async function handleExecBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const settings = readSettings(env);
  await Promise.all(batch.messages.map((m) => handleMessage(m, env, settings)));
}

async function handleMessage(message: Message<unknown>, env: Env, settings: Settings): Promise<void> {
  const parsed = ExecMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    console.error("dropping malformed exec message", parsed.error.issues);
    message.ack();
    return;
  }
  const msg = parsed.data;
  let claim;
  try {
    claim = await claimJob(env, msg, Date.now());
  } catch (err) {
    console.error("claim failed; the queue will redeliver", err);
    message.retry({ delaySeconds: 1 });
    return;
  }
  if (!claim) {
    await releaseUnclaimed(env, msg);
    message.ack();
    return;
  }
  const { job } = claim;
  await deliverEvents(env, [claim.event]);
  const report = await runAttempt(env, job, settings);
  const event = outcomeEvent(job, report.outcome, report.finishedAt);
  try {
    await finishAttempt(
      env,
      { id: job.id, attempt: job.attempt, executedAt: job.executedAt ?? report.finishedAt },
      report.outcome,
      report.logs,
      report.finishedAt,
      report.progress,
      event,
    );
  } catch (err) {
    // The job stays running in D1; its lease expires and the reconciler settles it.
    console.error("could not record the attempt's end", err);
    message.ack();
    return;
  }
  const next = report.outcome.kind === "retry" ? { jobId: job.id, attempt: job.attempt, runAt: report.outcome.runAt, priority: job.priority } : undefined;
  await Promise.all([
    deliverEvents(env, [event]),
    schedulerFor(env, job.queue)
      .release({ queue: job.queue, jobId: job.id, attempt: msg.attempt, next })
      .catch((err) => console.error("scheduler release failed; its heal will recover the slot", err)),
  ]);
  message.ack();
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
async function releaseUnclaimed(env: Env, msg: ExecMessage): Promise<void> {
  try {
    const job = await getJob(env, msg.jobId);
    if (job && job.status === "running" && job.attempt === msg.attempt + 1) return;
    await schedulerFor(env, msg.queue).release({ queue: msg.queue, jobId: msg.jobId, attempt: msg.attempt });
  } catch (err) {
    console.error("could not release a stale dispatch; the scheduler's heal will", err);
  }
}
