import { and, eq, gt, lte } from "drizzle-orm";
import { randomToken, sha256Hex } from "../lib/crypto";
import { getDb } from "./client";
import { realtimeTickets } from "./schema";

export const TICKET_PREFIX = "etr_";
/** A ticket is for connecting right away: it is refused once used or after this long. */
export const TICKET_TTL_MS = 60_000;

/** Issues a single-use ticket standing for the key (or "admin-token") that asked for it. */
export async function createTicket(env: Env, keyId: string, now: number): Promise<{ ticket: string; expiresAt: number }> {
  const ticket = `${TICKET_PREFIX}${randomToken(24)}`;
  const expiresAt = now + TICKET_TTL_MS;
  const db = getDb(env);
  // Unused tickets are swept here, so the table holds about a minute's worth of them.
  await db.batch([
    db.delete(realtimeTickets).where(lte(realtimeTickets.expiresAt, now)),
    db.insert(realtimeTickets).values({ ticketHash: await sha256Hex(ticket), keyId, expiresAt }),
  ]);
  return { ticket, expiresAt };
}

/** Consumes a ticket: the key id it stands for, once; null when unknown, used or expired. */
export async function redeemTicket(env: Env, ticket: string, now: number): Promise<string | null> {
  if (!ticket.startsWith(TICKET_PREFIX)) return null;
  const [row] = await getDb(env)
    .delete(realtimeTickets)
    .where(and(eq(realtimeTickets.ticketHash, await sha256Hex(ticket)), gt(realtimeTickets.expiresAt, now)))
    .returning({ keyId: realtimeTickets.keyId });
  return row?.keyId ?? null;
}
