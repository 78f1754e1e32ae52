import { createServer, type Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { requestJson, type CallInit } from "../support/client-core";
// @ts-expect-error: plain ESM helper shared with the Workers-pool tests
import { startTcpListener } from "../support/tcp-listener.mjs";
import { baseUrl, token, waitFor } from "./client";

const INTERVAL_SECONDS = 2;
const TIMEOUT_MS = 1000;
/** A check after the target stopped starts within one interval; its start is what statusChangedAt records. */
const WITHIN_ONE_INTERVAL_MS = INTERVAL_SECONDS * 1000 + 500;

const api = (path: string, init: CallInit = {}) => requestJson(fetch, `${baseUrl()}${path}`, token(), init);

/** An HTTP target that can be stopped and started again on the same port. */
async function httpTarget() {
  let server: Server | null = null;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("ok"));
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server!.closeAllConnections();
      server!.close(() => resolve());
    });
  await start();
  return { port: () => port, start, stop };
}

async function tcpTarget() {
  let listener = await startTcpListener();
  const port = listener.port as number;
  return { port, start: async () => (listener = await startTcpListener(port)), stop: () => listener.close() };
}

const endpoint = async (id: string) => (await api(`/api/endpoints/${id}`)).json;
const statusOf = (id: string, status: string) =>
  waitFor(async () => {
    const e = await endpoint(id);
    return e.status === status ? e : null;
  }, 20_000);

describe("endpoint monitoring on wrangler dev, black box", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const f of cleanup) await f().catch(() => {});
  });

  it.each(["http", "tcp"] as const)("turns a %s endpoint offline within one interval after its target stops, and online after it returns", async (type) => {
    const target = type === "http" ? await httpTarget() : await tcpTarget();
    const port = typeof target.port === "function" ? target.port() : target.port;
    cleanup.push(() => target.stop());
    const body = type === "http" ? { name: `web-${type}`, address: "127.0.0.1", port, scheme: "http", path: "/health" } : { name: `svc-${type}`, address: "127.0.0.1", type: "tcp", port };
    const created = await api("/api/endpoints", { body: { ...body, group: "e2e", intervalSeconds: INTERVAL_SECONDS, timeoutMs: TIMEOUT_MS } });
    expect(created.status).toBe(201);
    const id = created.json.id as string;

    const online = await statusOf(id, "online");
    expect(online.previousStatus).toBe("unknown");
    expect(online.responseTime).toBeGreaterThanOrEqual(0);

    await target.stop();
    const stoppedAt = Date.now();
    const offline = await statusOf(id, "offline");
    expect(offline.previousStatus).toBe("online");
    expect(Date.parse(offline.statusChangedAt) - stoppedAt).toBeLessThanOrEqual(WITHIN_ONE_INTERVAL_MS);

    await target.start();
    const startedAt = Date.now();
    const back = await statusOf(id, "online");
    expect(back.previousStatus).toBe("offline");
    expect(Date.parse(back.statusChangedAt) - startedAt).toBeLessThanOrEqual(WITHIN_ONE_INTERVAL_MS);

    const live = (await api("/api/status")).json.find((e: { id: string }) => e.id === id);
    expect(live).toMatchObject({ id, status: "online", previousStatus: "offline", type, group: "e2e", address: "127.0.0.1" });

    const history = await waitFor(async () => {
      const h = (await api(`/api/endpoints/${id}/history?hours=1`)).json;
      return h.statusChanges.length === 3 ? h : null;
    });
    expect(history.statusChanges.map((c: { status: string; previousStatus: string }) => `${c.previousStatus}->${c.status}`)).toEqual(["unknown->online", "online->offline", "offline->online"]);
    expect(history.checks.some((c: { status: string }) => c.status === "failure")).toBe(true);
    expect((await api(`/api/endpoints/${id}`, { method: "DELETE" })).status).toBe(204);
  });
});
