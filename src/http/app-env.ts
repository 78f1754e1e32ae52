import type { Scope } from "../model/scopes";

export type Principal = { id: string; name: string; scopes: readonly Scope[]; rateLimited: boolean };

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };
