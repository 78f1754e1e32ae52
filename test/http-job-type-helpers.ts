import { afterAll, expect } from "vitest";
import { api, targetUrl } from "./helpers";
import { setReceiverSecret } from "./webhook-helpers";

/** The JSON Schema of seed 000's EmailNotificationJob parameters. */
export const EMAIL_SCHEMA = {
  type: "object",
  required: ["recipientEmail", "templateId"],
  properties: { recipientEmail: { type: "string", format: "email" }, templateId: { type: "string", minLength: 1 } },
  additionalProperties: false,
};

/** Seed 000's "Create Job" request, verbatim but for the type and queue. */
export const seedJob = (type: string, queue?: string) => ({
  type,
  name: "Welcome Email",
  parameters: { recipientEmail: "newuser@example.com", templateId: "welcome-email" },
  priority: "normal",
  delay: "00:00:00",
  maxRetries: 3,
  cronExpression: null,
  ...(queue ? { queue } : {}),
});

/**
 * Registers types served by the local receiver, deleting them after the file's tests. Each registered
 * type answers under its `tag`, and the receiver then verifies deliveries with the type's secret.
 */
export function serviceRegistrar(prefix: string) {
  const registered: string[] = [];
  afterAll(async () => {
    for (const name of registered) await api(`/job-types/${name}`, { method: "DELETE" });
  });
  const registerService = async function (tag: string, query = "", extra: Record<string, unknown> = {}) {
    const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
    const res = await api("/job-types", {
      body: { name, url: `${targetUrl()}/service/${tag}${query}`, parameters: EMAIL_SCHEMA, timeoutSeconds: 5, maxRetries: 2, ...extra },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    registered.push(name);
    await setReceiverSecret(tag, res.json.secret);
    return res.json as { name: string; secret: string };
  };
  /** Also deletes `name`, registered some other way, after the file's tests. */
  const track = (name: string) => void registered.push(name);
  return { registerService, track };
}
