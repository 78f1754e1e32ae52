import type { DomainEvent } from "../model/events";

/**
 * Hands a queue object's events to the live sinks in batches: the first event waits `windowMs` for
 * the others (unless published `now`), and every event raised meanwhile (or while the previous
 * batch is still being sent) goes with it. Each batch is one RPC to the realtime hub and a row or two in its replay buffer, so
 * a busy queue pays for a batch per window, not one per state change. Batches go one after the
 * other, so events reach the sinks in the order they were raised. Best effort, like every sink's
 * delivery: events waiting when the object dies are not sent (D1 and webhooks are the record).
 */
export class LivePublisher {
  #waiting: DomainEvent[] = [];
  #scheduled = false;
  #sending: Promise<void> = Promise.resolve();
  /** Ends the wait of the batch being gathered. */
  #wake: (() => void) | null = null;

  constructor(
    private readonly deliver: (events: DomainEvent[]) => Promise<void>,
    private readonly keepAlive: (work: Promise<void>) => void,
    private readonly windowMs: number,
  ) {}

  /** `now`: send these (and whatever waits) without waiting for the window, still after the batch before. */
  publish(events: DomainEvent[], { now = false } = {}): void {
    if (!events.length) return;
    this.#waiting.push(...events);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#sending = this.#sendAfter(this.#sending);
      this.keepAlive(this.#sending);
    }
    if (now) this.#wake?.();
  }

  async #sendAfter(previous: Promise<void>): Promise<void> {
    const window = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.windowMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await Promise.all([previous, window]);
    this.#wake = null;
    const batch = this.#waiting;
    this.#waiting = [];
    this.#scheduled = false;
    await this.deliver(batch).catch((err) => console.error("live publish failed", err));
  }
}
