import { z } from "zod";

/**
 * Where the fault suite may kill a queue's object (FAULT_INJECTION only): at each stage boundary
 * of the write path, so that what the object does on its next start is what is tested.
 * - `after-create-commit`: a create's segment committed and the creator was answered; the object
 *   dies before it dispatched the new jobs.
 * - `after-claim-commit`: a claim's journal row committed; the object dies before replying.
 * - `after-flush-commit`: the archive flush committed in D1; the object dies before it journaled
 *   the flush as done (and compacted), so it flushes the same seq again.
 * - `now`: the object dies at once (evicted mid-batch: running attempts finish on a new instance).
 */
export const ObjectFaultKind = z.enum(["after-create-commit", "after-claim-commit", "after-flush-commit", "now"]);
export type ObjectFaultKind = z.infer<typeof ObjectFaultKind>;
export const ClaimForFaultInput = z.object({ queue: z.string().min(1), id: z.string().min(1) });
export const ArmFaultInput = z.object({ queue: z.string().min(1), kind: ObjectFaultKind, count: z.number().int().min(0).max(100).default(1) });

/** Faults armed in one object instance (memory only: a kill disarms the rest, as a real crash would). */
export class ObjectFaults {
  #armed = new Map<ObjectFaultKind, number>();

  arm(kind: ObjectFaultKind, count: number) {
    this.#armed.set(kind, count);
  }

  /** Whether the armed fault of this kind fires now (using one up). */
  take(kind: ObjectFaultKind): boolean {
    const left = this.#armed.get(kind) ?? 0;
    if (left <= 0) return false;
    this.#armed.set(kind, left - 1);
    return true;
  }
}
