/**
 * A Worker invocation may hold only 6 outbound connections at once; further fetch() calls wait
 * inside the runtime, invisibly, while their callers' timers run. Every outbound request takes a
 * slot here first, so the wait happens where we can see it and a request's timeout starts only
 * once it may actually connect. The slots are per isolate, which is never more than one
 * invocation's share (an isolate may serve several invocations at once).
 */
export const OUTBOUND_CONNECTIONS = 6;

export class OutboundSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  /** Resolves with a release function once a slot is held; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = once(() => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    });
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      this.#waiting.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}

export const outboundSlots = new OutboundSlots(OUTBOUND_CONNECTIONS);
