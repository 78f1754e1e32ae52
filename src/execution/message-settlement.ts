/**
 * Settles one queue message that carries several jobs: it is acked once every job's end is durable
 * (or the job needed nothing: a duplicate or stale dispatch), and sent back to the queue if any job's
 * end could not be written. Acking it earlier would let the queue forget a job whose outcome was
 * never recorded; the redelivery is harmless for the rest, whose claims refuse it.
 */
export class MessageSettlement {
  #left: number;
  #retry: QueueRetryOptions | null = null;

  constructor(
    private readonly message: Message<unknown>,
    jobs: number,
  ) {
    this.#left = jobs;
  }

  /** One job of the message is settled. */
  done(): void {
    this.#settleOne();
  }

  /** One job's end could not be written: the whole message goes back to the queue once the others are settled. */
  failed(options: QueueRetryOptions = {}): void {
    this.#retry ??= options;
    this.#settleOne();
  }

  #settleOne(): void {
    if (this.#left <= 0) return;
    if (--this.#left > 0) return;
    if (this.#retry) this.message.retry(this.#retry);
    else this.message.ack();
  }
}
