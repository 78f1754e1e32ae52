import { afterAll, expect } from "vitest";
import { api, targetUrl } from "./helpers";

/** Creates webhook endpoints through the API and deletes them when the calling test file ends. */
export function webhookFactory() {
  const created: string[] = [];
  afterAll(async () => {
    for (const id of created) await api(`/webhooks/${id}`, { method: "DELETE" });
  });
  return async function createWebhook(body: Record<string, unknown>) {
    const res = await api("/webhooks", { body });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    created.push(res.json.id);
    return res.json;
  };
}

/** Tells the local receiver which secret to verify signatures with for a tag. */
export const setReceiverSecret = (tag: string, secret: string) => fetch(`${targetUrl()}/secret/${tag}`, { method: "PUT", body: secret });
