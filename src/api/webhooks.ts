import { Hono } from "hono";
import { readSettings } from "../config";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { conflict, notFound } from "../http/errors";
import { readJson, readQuery } from "../http/validate";
import { attemptsOf, getDelivery, insertFinishedDelivery, listDeliveries, redeliver } from "../webhooks/deliveries";
import { enqueueDeliveries } from "../webhooks/dispatch";
import { createEndpoint, deleteEndpoint, listEndpoints, requireEndpoint, rotateSecret, updateEndpoint } from "../webhooks/endpoints";
import { CreateWebhookSchema, ListDeliveriesQuery, PatchWebhookSchema, RotateSecretSchema, toDelivery, toWebhook } from "../webhooks/model";
import { sendAttempt } from "../webhooks/send";
import { reencryptStoredSecrets } from "../services/re-encrypt";

export const webhooksApi = new Hono<AppEnv>()
  .use(requireScope("tickerq:admin"))
  .post("/deliveries/:deliveryId/redeliver", async (c) => {
    const original = await getDelivery(c.env, c.req.param("deliveryId"));
    if (!original) throw notFound("Delivery");
    if (original.status === "pending") throw conflict("This delivery is still pending; it is retried on its own.");
    const endpoint = await requireEndpoint(c.env, original.endpoint_id);
    if (!endpoint.enabled) throw conflict("The webhook is disabled; enable it (PATCH enabled: true) before redelivering.");
    const copy = await redeliver(c.env, original, Date.now());
    await enqueueDeliveries(c.env, [copy.id]);
    return c.json(toDelivery(copy), 202);
  })
  .get("/deliveries/:deliveryId", async (c) => {
    const delivery = await getDelivery(c.env, c.req.param("deliveryId"));
    if (!delivery) throw notFound("Delivery");
    const attempts = await attemptsOf(c.env, [delivery.id]);
    return c.json({ ...toDelivery(delivery, attempts.get(delivery.id) ?? []), payload: JSON.parse(delivery.payload) });
  })
  // The one-off migration to a new WEBHOOK_SECRET_KEY (see the README, "Encryption key").
  .post("/re-encrypt", async (c) => c.json(await reencryptStoredSecrets(c.env)))
  .post("/", async (c) => {
    const body = await readJson(c, CreateWebhookSchema);
    const { row, secret } = await createEndpoint(c.env, body, readSettings(c.env));
    return c.json({ ...toWebhook(row), secret }, 201);
  })
  .get("/", async (c) => c.json({ webhooks: (await listEndpoints(c.env)).map(toWebhook) }))
  .get("/:id", async (c) => c.json(toWebhook(await requireEndpoint(c.env, c.req.param("id")))))
  .patch("/:id", async (c) => {
    const body = await readJson(c, PatchWebhookSchema);
    return c.json(toWebhook(await updateEndpoint(c.env, c.req.param("id"), body, readSettings(c.env))));
  })
  .delete("/:id", async (c) => {
    if (!(await deleteEndpoint(c.env, c.req.param("id")))) throw notFound("Webhook");
    return c.body(null, 204);
  })
  .post("/:id/rotate-secret", async (c) => {
    const body = await readJson(c, RotateSecretSchema, { optional: true });
    const { row, secret } = await rotateSecret(c.env, c.req.param("id"), body);
    return c.json({ id: row.id, secret, previousSecretExpiresAt: toWebhook(row).previousSecretExpiresAt });
  })
  .post("/:id/test", async (c) => {
    const endpoint = await requireEndpoint(c.env, c.req.param("id"));
    const now = Date.now();
    const event = {
      id: `evt_${crypto.randomUUID()}`,
      type: "ping",
      timestamp: new Date(now).toISOString(),
      data: { webhookId: endpoint.id, severity: "info", message: "Test ping from Edge Ticker" },
    };
    const result = await sendAttempt(c.env, endpoint, event, readSettings(c.env), now);
    const delivery = await insertFinishedDelivery(c.env, endpoint.id, event, result, now);
    const attempts = await attemptsOf(c.env, [delivery.id]);
    return c.json({ delivered: result.ok, delivery: toDelivery(delivery, attempts.get(delivery.id) ?? []) });
  })
  .get("/:id/deliveries", async (c) => {
    const endpoint = await requireEndpoint(c.env, c.req.param("id"));
    const query = readQuery(c, ListDeliveriesQuery);
    const page = await listDeliveries(c.env, endpoint.id, query);
    const attempts = await attemptsOf(c.env, page.deliveries.map((d) => d.id));
    return c.json({ deliveries: page.deliveries.map((d) => toDelivery(d, attempts.get(d.id) ?? [])), totalCount: page.totalCount, hasMore: page.hasMore });
  });
