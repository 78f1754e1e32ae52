import type { JobRow } from "../db/schema";

/** Most attempts one consumer invocation runs at once: a batch's own bound (4 messages × 25 jobs). */
export const INVOCATION_CONCURRENCY = 100;
/**
 * An invocation asks for more jobs only this long after it started. Its CPU time, at most its wall
 * time, stays bounded (the jobs claimed last still run to their end), and the batch it holds is
 * given back to the queue, which under `wrangler dev` delivers one batch at a time.
 */
export const CHAIN_MS = 2000;
/** How long an invocation with nothing left to run waits for a new due job before it ends. */
export const CHAIN_IDLE_WAIT_MS = 100;

/**
 * The room of one consumer invocation that goes on running its queues' due jobs after its batch's
 * own: how many more it may claim (reserved before each ask, so asks in flight together never
 * exceed it), and the latest lease of everything it claimed, which bounds when it ends.
 */
export class Chain {
  #running: number;
  #reserved = 0;
  /** Jobs claimed here, the batch's included. */
  #taken: number;
  #stopped = false;
  #latestLease: number;
  #inflight = new Set<Promise<unknown>>();
  readonly #until: number;

  /** `maxJobs`: most jobs the invocation runs, its batch's included (MAX_JOBS_PER_INVOCATION). */
  constructor(
    batch: readonly JobRow[],
    private readonly maxJobs: number,
    now = Date.now(),
  ) {
    this.#running = batch.length;
    this.#taken = batch.length;
    this.#latestLease = Math.max(0, ...batch.map((j) => j.leaseUntil ?? 0));
    this.#until = now + CHAIN_MS;
  }

  /** Attempts claimed here that have not ended yet. */
  get running(): number {
    return this.#running;
  }

  /** Reserves room for up to `max` more attempts; returns how many (0 once the chain is over). */
  reserve(max = Infinity): number {
    if (this.#stopped || Date.now() >= this.#until) return 0;
    const room = Math.min(max, INVOCATION_CONCURRENCY - this.#running - this.#reserved, this.maxJobs - this.#taken - this.#reserved);
    const k = Math.max(0, room);
    this.#reserved += k;
    return k;
  }

  /** The ask made with `reserved` room came back with `jobs` (none if it failed). */
  claimed(reserved: number, jobs: readonly JobRow[]): void {
    this.#reserved -= reserved;
    this.#running += jobs.length;
    this.#taken += jobs.length;
    for (const j of jobs) this.#latestLease = Math.max(this.#latestLease, j.leaseUntil ?? 0);
  }

  /** An attempt claimed here ended (or went on elsewhere). */
  ended(): void {
    this.#running--;
  }

  /** Runs an ask, so that `end` can wait for it. */
  track<T>(ask: Promise<T>): Promise<T> {
    this.#inflight.add(ask);
    void ask.finally(() => this.#inflight.delete(ask)).catch(() => {});
    return ask;
  }

  /**
   * Stops asking for more and returns when this invocation ends at the latest: the latest lease of
   * every job it claimed, counted once the asks in flight are back. An attempt abandoned here
   * (see runAttempt) retries only after it.
   */
  async end(): Promise<number> {
    this.#stopped = true;
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
    return this.#latestLease;
  }
}
