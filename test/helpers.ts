import { exports } from "cloudflare:workers";
import { inject } from "vitest";

export const BASE = "http://edge-ticker.test/api/tickerq";
export const ADMIN = "test-admin-token";

type Init = { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string>; rawBody?: string };

/** Calls the Worker's own fetch handler, as a client would. */
export async function api(path: string, init: Init = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? ADMIN}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method: init.method ?? (body ? "POST" : "GET"), headers, body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
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
