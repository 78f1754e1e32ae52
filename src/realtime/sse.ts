import { ApiError } from "../http/errors";
import { connectHub } from "./client";
import type { Subscription } from "./messages";

/** How soon an EventSource reconnects after the stream drops (it then sends Last-Event-ID). */
const RETRY_MS = 3000;

/**
 * An SSE stream, bridged by the Worker: the hub sees one more hibernatable socket that receives
 * ready-made `id:`/`data:` frames, and the Worker adds heartbeat comments so proxies keep the
 * stream open and a vanished client is noticed.
 */
export async function sseStream(env: Env, subs: Subscription[], since: number | undefined, heartbeatMs: number): Promise<Response> {
  const upstream = await connectHub(env, { kind: "sse", subs, since });
  const ws = upstream.webSocket;
  if (!ws) throw new ApiError(503, "hub_unavailable", "The live update hub did not accept the stream; try again.");
  ws.accept();

  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let open = true;
  const stop = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    try {
      ws.close(1000, "Stream closed.");
    } catch {}
    writer.close().catch(() => {});
  };
  const write = (text: string) => {
    if (open) writer.write(encoder.encode(text)).catch(stop);
  };
  ws.addEventListener("message", (e) => typeof e.data === "string" && write(e.data));
  ws.addEventListener("close", stop);
  ws.addEventListener("error", stop);
  const heartbeat = setInterval(() => write(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
  write(`retry: ${RETRY_MS}\n: connected\n\n`);

  return new Response(readable, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
  });
}
