import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { readJson } from "../http/validate";
import { purgeFinishedJobs } from "../maintenance/retention";
import { DAY_MS } from "../metrics/rollups";
import { meterSnapshot, resetMeter } from "./meter";

/** The cost benchmark's operation counters (admin only); mounted by the benchmark's Worker alone. */
export const meterApi = new Hono<AppEnv>()
  .use(requireScope("tickerq:admin"))
  .get("/", (c) => c.json(meterSnapshot()))
  .delete("/", (c) => {
    resetMeter();
    return c.body(null, 204);
  })
  // The retention purge of every job finished by now (today's archive table included: its day ends
  // within a day), as the daily task removes them once they are RETENTION_DAYS old: the benchmark
  // meters what a job's removal costs.
  .post("/purge", async (c) => {
    const { maxRounds } = await readJson(c, z.strictObject({ maxRounds: z.number().int().min(1).max(1000).default(100) }));
    return c.json(await purgeFinishedJobs(c.env, Date.now() + DAY_MS, maxRounds));
  });
