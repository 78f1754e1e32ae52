import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { headerToken } from "../http/auth";
import { parseWith, readJson } from "../http/validate";
import { authorizeCallback, recordCallbackLogs, recordCallbackProgress, settleFromCallback } from "../http-types/callbacks";
import { AttemptParamsSchema, CompleteCallbackSchema, FailCallbackSchema, LogsCallbackSchema, ProgressCallbackSchema } from "../http-types/model";

/**
 * Callbacks of a registered HTTP job type's service for one attempt (answered 202), mounted
 * before the API-key check: the attempt's callback token is their only credential.
 */
export const jobCallbacksApi = new Hono<AppEnv>()
  .post("/:id/attempts/:n/complete", async (c) => {
    const { id, n } = parseWith(AttemptParamsSchema, c.req.param());
    await authorizeCallback(c.env, headerToken(c.req.raw), id, n);
    const body = await readJson(c, CompleteCallbackSchema, { optional: true });
    await settleFromCallback(c.env, id, n, { state: "completed", result: body.result });
    return c.json({ accepted: true });
  })
  .post("/:id/attempts/:n/fail", async (c) => {
    const { id, n } = parseWith(AttemptParamsSchema, c.req.param());
    await authorizeCallback(c.env, headerToken(c.req.raw), id, n);
    const body = await readJson(c, FailCallbackSchema);
    await settleFromCallback(c.env, id, n, { state: "failed", error: body.error, retry: body.retry });
    return c.json({ accepted: true });
  })
  .post("/:id/attempts/:n/progress", async (c) => {
    const { id, n } = parseWith(AttemptParamsSchema, c.req.param());
    await authorizeCallback(c.env, headerToken(c.req.raw), id, n);
    const body = await readJson(c, ProgressCallbackSchema);
    await recordCallbackProgress(c.env, id, n, body.percent, body.message ?? null);
    return c.json({ accepted: true });
  })
  .post("/:id/attempts/:n/logs", async (c) => {
    const { id, n } = parseWith(AttemptParamsSchema, c.req.param());
    await authorizeCallback(c.env, headerToken(c.req.raw), id, n);
    const body = await readJson(c, LogsCallbackSchema);
    await recordCallbackLogs(c.env, id, n, body.lines);
    return c.json({ accepted: true });
  });
