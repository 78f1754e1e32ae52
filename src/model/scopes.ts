import { z } from "zod";

/**
 * `tickerq:queue-admin` governs whole queues (settings, pause/resume, clear), which affect every
 * key's jobs, so `tickerq:write` (which acts on jobs) does not include it.
 */
export const SCOPES = ["tickerq:read", "tickerq:write", "tickerq:queue-admin", "tickerq:admin"] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/** The admin scope grants everything; the others are independent of each other. */
export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes(needed) || granted.includes("tickerq:admin");
}
