/**
 * Faults the fault suite injects into the engine. Set only through the FAULT_INJECTION routes, and
 * asked only when FAULT_INJECTION is on, so production code paths never see them. The count lives
 * in the isolate that runs both the API and the queue consumer (as under `wrangler dev`).
 */
let resultWritesToFail = 0;

/** Makes the next `count` writes of attempt outcomes throw before reaching D1. */
export function failNextResultWrites(count: number): void {
  resultWritesToFail = count;
}

/** True (and counts it) when the next result write must fail. */
export function takeResultWriteFault(): boolean {
  if (resultWritesToFail <= 0) return false;
  resultWritesToFail--;
  return true;
}
