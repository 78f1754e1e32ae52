import type { DomainEvent } from "../model/events";

/**
 * Hands a queue object's events to the live sinks in batches: the first event waits `windowMs` for
 * the others, and every event raised meanwhile (or while the previous batch is still being sent)
 * goes with it. Each batch is one RPC to the realtime hub and a row or two in its replay buffer, so
 * a busy queue pays for a batch per window, not one per state change. Batches go one after the
 * other, so events reach the sinks in the order they were raised. Best effort, like every sink's
 * delivery: events waiting when the object dies are not sent (D1 and webhooks are the record).
 */
export class LivePublisher {
  #waiting: DomainEvent[] = [];
  #scheduled = false;
  #sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly deliver: (events: DomainEvent[]) => Promise<void>,
    private readonly keepAlive: (work: Promise<void>) => void,
    private readonly windowMs: number,
  ) {}

  publish(events: DomainEvent[]): void {
    if (!events.length) return;
    this.#waiting.push(...events);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#sending = this.#sendAfter(this.#sending);
    this.keepAlive(this.#sending);
  }

  async #sendAfter(previous: Promise<void>): Promise<void> {
    await Promise.all([previous, new Promise((resolve) => setTimeout(resolve, this.windowMs))]);
    const batch = this.#waiting;
    this.#waiting = [];
    this.#scheduled = false;
    await this.deliver(batch).catch((err) => console.error("live publish failed", err));
  }
}
