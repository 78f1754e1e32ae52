import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { constantTimeEqual, randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import { ScopeSchema, type Scope } from "../model/scopes";
import { getDb } from "./client";
import { apiKeys, type ApiKeyRow } from "./schema";

const StoredScopes = z.array(ScopeSchema);
const KEY_PREFIX = "etk_";

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
export async function findActiveApiKey(env: Env, token: string, now: number) {
  if (!token.startsWith(KEY_PREFIX)) return null;
  const hash = await sha256Hex(token);
  const row = await getDb(env).select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).get();
  if (!row || !(await constantTimeEqual(row.keyHash, hash))) return null;
  if (row.revokedAt != null || (row.expiresAt != null && row.expiresAt <= now)) return null;
  return { id: row.id, name: row.name, scopes: StoredScopes.parse(JSON.parse(row.scopes)) };
}

function toApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: StoredScopes.parse(JSON.parse(row.scopes)),
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
  };
}
