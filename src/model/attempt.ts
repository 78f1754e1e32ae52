/** What the consumer, the schedulers and the archive share about one attempt of a job. */

/** Extra time past a job's timeout before its lease expires and its scheduler takes it back. */
export const LEASE_GRACE_MS = 30_000;

export type LogLine = { level: string; message: string; details: string | null; stepName: string | null; createdAt: number };

export type AttemptOutcome =
  | { kind: "completed"; result: string }
  | { kind: "retry"; error: string; runAt: number; result: string | null }
  | { kind: "failed"; error: string; result: string | null }
  | { kind: "cancelled"; error: string };

/** Progress an attempt reported, 0..100 with an optional message. */
export type AttemptProgress = { percent: number; message: string | null };

/** The job's error once a cancel request has ended it while (or just after) an attempt ran. */
export const CANCELLED_WHILE_RUNNING = "Cancelled while running.";
/** The job's error when it was cancelled while pending. */
export const CANCELLED_BEFORE_START = "Cancelled before it started.";

/** Why an attempt whose lease expired ended, as its history row and the job's error say. */
export const LEASE_EXPIRED = "The worker running this attempt stopped responding (lease expired).";
export const LEASE_EXPIRED_BEFORE_START = "The worker that claimed this attempt stopped before starting it (lease expired); it does not count as a retry.";
