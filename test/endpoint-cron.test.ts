import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import worker from "../src/index";
import { monitorFor } from "../src/monitoring/client";
import { requestJson } from "./support/client-core";
import { ADMIN, waitFor } from "./helpers";

describe("endpoint monitors and the cron", () => {
  it("re-arms a monitor whose alarm is gone, so its endpoints keep being checked", async () => {
    const created = await requestJson((req) => exports.default.fetch(req), "http://edge-ticker.test/api/endpoints", ADMIN, {
      body: { name: "cron", address: "127.0.0.1", type: "tcp", port: inject("closedTcpPort"), intervalSeconds: 3600, timeoutMs: 500 },
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await env.DB.prepare(`SELECT status FROM endpoints WHERE id = ?`).bind(created.json.id).first<{ status: string }>())?.status === "offline");
    const stub = monitorFor(env, 0);
    await runInDurableObject(stub, async (_i, state) => {
      await state.storage.deleteAlarm();
      expect(await state.storage.getAlarm()).toBeNull();
    });
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    await runInDurableObject(stub, async (_i, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
  });
});
