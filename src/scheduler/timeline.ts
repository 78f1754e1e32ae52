/** One pending job's place on the timeline; stale places (the job moved or left) are skipped when met. */
type Place = { id: string; runAt: number; arrival: number; ticket: number };

/** A binary min-heap of places by (runAt, arrival). */
class PlaceHeap {
  #items: Place[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Place | undefined {
    return this.#items[0];
  }

  push(p: Place): void {
    const a = this.#items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  pop(): Place | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

const before = (x: Place, y: Place) => x.runAt < y.runAt || (x.runAt === y.runAt && x.arrival < y.arrival);

/** Priorities, most urgent first (0..2, as NewJob.priority). */
const PRIORITIES = [2, 1, 0] as const;

/**
 * The due order of a queue's pending jobs: priority (high first), then runAt, then arrival. One
 * heap per priority, so a far-future urgent job never hides a due one of lower priority. A job is
 * placed again whenever its runAt or priority changes; its older place is left in the heap and
 * skipped (its ticket no longer matches), which keeps every change O(log n).
 */
export class Timeline {
  #heaps = new Map<number, PlaceHeap>(PRIORITIES.map((p) => [p, new PlaceHeap()]));
  #tickets = new Map<string, number>();
  #nextTicket = 0;
  #arrival = 0;

  /** Jobs on the timeline (placed and not yet taken or dropped). */
  get size(): number {
    return this.#tickets.size;
  }

  has(id: string): boolean {
    return this.#tickets.has(id);
  }

  /** Places (or moves) a job; `arrival` defaults to now-in-order (first in, first out within a priority and runAt). */
  place(id: string, runAt: number, priority: number, arrival = ++this.#arrival): void {
    const ticket = ++this.#nextTicket;
    this.#tickets.set(id, ticket);
    this.#arrival = Math.max(this.#arrival, arrival);
    (this.#heaps.get(priority) ?? this.#heaps.get(1)!).push({ id, runAt, arrival, ticket });
  }

  drop(id: string): void {
    this.#tickets.delete(id);
  }

  /** Takes up to `limit` jobs due at `now`, most urgent first; they leave the timeline. */
  takeDue(now: number, limit: number): string[] {
    const out: string[] = [];
    for (const p of PRIORITIES) {
      const heap = this.#heaps.get(p)!;
      while (out.length < limit) {
        const top = this.#validTop(heap);
        if (!top || top.runAt > now) break;
        heap.pop();
        this.#tickets.delete(top.id);
        out.push(top.id);
      }
    }
    return out;
  }

  /** Whether any job is due at `now`. */
  hasDue(now: number): boolean {
    for (const heap of this.#heaps.values()) {
      const top = this.#validTop(heap);
      if (top && top.runAt <= now) return true;
    }
    return false;
  }

  /** The earliest runAt on the timeline (due or not), or null when it is empty. */
  earliest(): number | null {
    let next: number | null = null;
    for (const heap of this.#heaps.values()) {
      const top = this.#validTop(heap);
      if (top && (next == null || top.runAt < next)) next = top.runAt;
    }
    return next;
  }

  #validTop(heap: PlaceHeap): Place | undefined {
    for (;;) {
      const top = heap.peek();
      if (!top || this.#tickets.get(top.id) === top.ticket) return top;
      heap.pop();
    }
  }
}
