import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { requestJson, waitFor, type CallInit } from "./support/client-core";

export { waitFor };

export const BASE = "http://edge-ticker.test/api/tickerq";
export const ADMIN = "test-admin-token-0123456789abcdef-0123";

/** Calls the Worker's own fetch handler, as a client would. */
export function api(path: string, init: CallInit = {}) {
  return requestJson((req) => exports.default.fetch(req), `${BASE}${path}`, ADMIN, init);
}

export async function waitForStatus(id: string, statuses: string[], timeoutMs = 15_000) {
  return waitFor(async () => {
    const r = await api(`/jobs/${id}`);
    return statuses.includes(r.json?.status) ? r.json : null;
  }, timeoutMs);
}

export function uniqueQueue(prefix = "q"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export const targetUrl = () => inject("targetUrl");

export async function targetCalls(tag: string): Promise<{ calls: any[]; maxConcurrent: number }> {
  const res = await fetch(`${targetUrl()}/calls/${tag}`);
  return res.json();
}
