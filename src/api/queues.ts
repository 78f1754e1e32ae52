import { Hono } from "hono";
import { queueStats } from "../services/queue-stats";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { parseWith, readJson } from "../http/validate";
import { QueueNameSchema } from "../model/job";
import { ClearQueueSchema, QueueSettingsPatchSchema, toQueueDetails, toQueueSummary } from "../model/queue";
import { clearQueue, configureQueue, describeQueue, setQueuePaused } from "../services/queue-actions";
import { limitsFor } from "../services/usage-limits";

const queueName = (name: string) => parseWith(QueueNameSchema, name, ["name"]);

export const queuesApi = new Hono<AppEnv>()
  .get("/", requireScope("tickerq:read"), async (c) => {
    const queues = await queueStats(c.env, Date.now());
    return c.json({ queues: queues.map(toQueueSummary) });
  })
  .get("/:name", requireScope("tickerq:read"), async (c) => {
    return c.json(toQueueDetails(await describeQueue(c.env, queueName(c.req.param("name")))));
  })
  .patch("/:name", requireScope("tickerq:queue-admin"), async (c) => {
    const name = queueName(c.req.param("name"));
    const patch = await readJson(c, QueueSettingsPatchSchema);
    return c.json(toQueueDetails(await configureQueue(c.env, name, patch, limitsFor(c.env, c.get("principal")))));
  })
  .post("/:name/pause", requireScope("tickerq:queue-admin"), async (c) => {
    return c.json(toQueueDetails(await setQueuePaused(c.env, queueName(c.req.param("name")), true)));
  })
  .post("/:name/resume", requireScope("tickerq:queue-admin"), async (c) => {
    return c.json(toQueueDetails(await setQueuePaused(c.env, queueName(c.req.param("name")), false)));
  })
  .post("/:name/clear", requireScope("tickerq:queue-admin"), async (c) => {
    const name = queueName(c.req.param("name"));
    const body = await readJson(c, ClearQueueSchema, { optional: true });
    return c.json(await clearQueue(c.env, name, body));
  });
