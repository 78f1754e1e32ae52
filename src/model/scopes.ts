import { z } from "zod";

export const SCOPES = ["tickerq:read", "tickerq:write", "tickerq:admin"] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/** The admin scope grants everything; read and write are independent of each other. */
export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes(needed) || granted.includes("tickerq:admin");
}
