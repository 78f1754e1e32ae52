import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { notFound } from "../http/errors";
import { meteringOn, meterSnapshot, resetMeter } from "../metering/meter";

/** The cost benchmark's operation counters, off unless METERING=true (then admin only). */
export const meterApi = new Hono<AppEnv>()
  .use(async (c, next) => {
    if (!meteringOn(c.env)) throw notFound("Route");
    await next();
  })
  .use(requireScope("tickerq:admin"))
  .get("/", (c) => c.json(meterSnapshot()))
  .delete("/", (c) => {
    resetMeter();
    return c.body(null, 204);
  });
