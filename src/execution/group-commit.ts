/**
 * Collects items from a known number of producers and hands them to `flush` in groups: at once when
 * every producer still expected has reported, else `windowMs` after the first unflushed item. Each
 * `add` resolves when the group holding its item has been flushed (or rejects with its error).
 */
export class GroupCommit<T> {
  #expected: number;
  #pending: { item: T; done: (err?: unknown) => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    expected: number,
    private readonly windowMs: number,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {
    this.#expected = expected;
  }

  /** `count` more producers will report (attempts claimed after the start). */
  expect(count: number): void {
    this.#expected += count;
  }

  add(item: T): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => this.#pending.push({ item, done: (err) => (err === undefined ? resolve() : reject(err)) }));
    this.#expected--;
    if (this.#expected <= 0) this.#flushNow();
    else this.#timer ??= setTimeout(() => this.#flushNow(), this.windowMs);
    return settled;
  }

  #flushNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const group = this.#pending;
    this.#pending = [];
    if (!group.length) return;
    this.flush(group.map((p) => p.item)).then(
      () => group.forEach((p) => p.done()),
      (err) => group.forEach((p) => p.done(err ?? new Error("flush failed"))),
    );
  }
}
