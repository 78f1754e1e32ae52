import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import { z } from "zod";
import { constantTimeEqual, randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import { ScopeSchema, type Scope } from "../model/scopes";
import { getDb } from "./client";
import { apiKeys, type ApiKeyRow } from "./schema";

const StoredScopes = z.array(ScopeSchema);
const KEY_PREFIX = "etk_";
/** Every key is `etk_` and 24 random bytes in base64url: anything else is refused without a D1 lookup. */
const KEY_FORMAT = /^etk_[A-Za-z0-9_-]{32}$/;
/** `last_used_at` is written at most this often per key, so using a key is not a D1 write per request. */
export const LAST_USED_WRITE_EVERY_MS = 60_000;

export type ActiveApiKey = { id: string; name: string; scopes: Scope[]; expiresAt: number | null; lastUsedAt: number | null };

export async function createApiKey(env: Env, input: { name: string; scopes: Scope[]; expiresAt: number | null }) {
  const key = `${KEY_PREFIX}${randomToken(24)}`;
  const row: ApiKeyRow = {
    id: newId("key"),
    name: input.name,
    prefix: key.slice(0, 12),
    keyHash: await sha256Hex(key),
    scopes: JSON.stringify(input.scopes),
    createdAt: Date.now(),
    expiresAt: input.expiresAt,
    revokedAt: null,
    lastUsedAt: null,
  };
  await getDb(env).insert(apiKeys).values(row);
  return { ...toApiKey(row), key };
}

export async function listApiKeys(env: Env) {
  const rows = await getDb(env).select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
  return rows.map(toApiKey);
}

export async function revokeApiKey(env: Env, id: string): Promise<boolean> {
  const res = await getDb(env)
    .update(apiKeys)
    .set({ revokedAt: Date.now() })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return res.length > 0;
}

/** Finds the unrevoked, unexpired key for a presented token. Only the token's hash is ever stored or compared. */
export async function findActiveApiKey(env: Env, token: string, now: number): Promise<ActiveApiKey | null> {
  if (!KEY_FORMAT.test(token)) return null;
  const hash = await sha256Hex(token);
  const row = await getDb(env).select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).get();
  if (!row || !(await constantTimeEqual(row.keyHash, hash))) return null;
  return activeKey(row, now);
}

/** The key behind a realtime ticket, if it is still active. */
export async function findActiveApiKeyById(env: Env, id: string, now: number): Promise<ActiveApiKey | null> {
  const row = await getDb(env).select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  return row ? activeKey(row, now) : null;
}

/** Records that a key was used; a no-op (no row written) while the stored time is recent enough. */
export async function touchApiKey(env: Env, id: string, now: number): Promise<void> {
  await getDb(env)
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - LAST_USED_WRITE_EVERY_MS))));
}

function activeKey(row: ApiKeyRow, now: number): ActiveApiKey | null {
  if (row.revokedAt != null || (row.expiresAt != null && row.expiresAt <= now)) return null;
  return { id: row.id, name: row.name, scopes: StoredScopes.parse(JSON.parse(row.scopes)), expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt };
}

/** An API key as the API shows it: never the key itself, which only its creation returns (`key`). */
export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe("the key's first characters, to recognise it"),
  scopes: z.array(ScopeSchema),
  createdAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
});

function toApiKey(row: ApiKeyRow): z.output<typeof ApiKeySchema> {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: StoredScopes.parse(JSON.parse(row.scopes)),
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
  };
}
