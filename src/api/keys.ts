import { Hono } from "hono";
import { z } from "zod";
import { createApiKey, listApiKeys, revokeApiKey } from "../db/api-keys";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { readJson } from "../http/validate";
import { SCOPES, ScopeSchema } from "../model/scopes";
import { closeKeyConnections } from "../realtime/client";

export const CreateKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(ScopeSchema).min(1).max(SCOPES.length),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const keysApi = new Hono<AppEnv>()
  .use(requireScope("tickerq:admin"))
  .post("/", async (c) => {
    const body = await readJson(c, CreateKeySchema);
    const expiresAt = body.expiresAt ? Date.parse(body.expiresAt) : null;
    if (expiresAt != null && expiresAt <= Date.now()) throw new ApiError(400, "validation_error", "expiresAt must be in the future.", [{ path: "expiresAt", message: "must be in the future" }]);
    const created = await createApiKey(c.env, { name: body.name, scopes: [...new Set(body.scopes)], expiresAt });
    return c.json(created, 201);
  })
  .get("/", async (c) => c.json({ keys: await listApiKeys(c.env) }))
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await revokeApiKey(c.env, id))) throw notFound("API key");
    // Requests check the key each time; live connections were authenticated once, so they are closed now.
    await closeKeyConnections(c.env, id, "The API key was revoked.");
    return c.body(null, 204);
  });
