import { Hono } from "hono";
import { readSettings } from "../config";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { readJson } from "../http/validate";
import { listJobTypes } from "../jobs/registry";
import { PatchHttpJobTypeSchema, RegisterHttpJobTypeSchema, toHttpJobType } from "../http-types/model";
import { patchHttpJobType, registerHttpJobType, removeHttpJobType, requireHttpJobType } from "../http-types/registration";
import { listHttpJobTypes } from "../http-types/store";

export const jobTypesApi = new Hono<AppEnv>()
  .get("/", requireScope("tickerq:read"), async (c) => {
    const http = (await listHttpJobTypes(c.env)).map(toHttpJobType);
    return c.json({ jobTypes: [...listJobTypes(), ...http] });
  })
  .get("/:name", requireScope("tickerq:read"), async (c) => {
    const name = c.req.param("name");
    const code = listJobTypes().find((t) => t.name === name);
    return c.json(code ?? toHttpJobType(await requireHttpJobType(c.env, name)));
  })
  .post("/", requireScope("tickerq:admin"), async (c) => {
    const body = await readJson(c, RegisterHttpJobTypeSchema);
    const { row, secret } = await registerHttpJobType(c.env, body, readSettings(c.env));
    return c.json({ ...toHttpJobType(row), secret }, 201);
  })
  .patch("/:name", requireScope("tickerq:admin"), async (c) => {
    const body = await readJson(c, PatchHttpJobTypeSchema);
    return c.json(toHttpJobType(await patchHttpJobType(c.env, c.req.param("name"), body, readSettings(c.env))));
  })
  .delete("/:name", requireScope("tickerq:admin"), async (c) => {
    await removeHttpJobType(c.env, c.req.param("name"));
    return c.body(null, 204);
  });
