import type { Scope } from "../model/scopes";

/** Who is calling: ADMIN_TOKEN or an API key (`expiresAt` ends its live connections too). */
export type Principal = { id: string; name: string; scopes: readonly Scope[]; rateLimited: boolean; expiresAt: number | null; lastUsedAt: number | null };

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };
