import { ApiError } from "../http/errors";
import { connectHub } from "./client";
import type { ConnectInit } from "./connection";

/** How soon an EventSource reconnects after the stream drops (it then sends Last-Event-ID). */
const RETRY_MS = 3000;
/**
 * Bytes a stream may have waiting for a slow client. Past this the client is not keeping up: the
 * stream is closed rather than buffered without end, and the EventSource reconnects with
 * Last-Event-ID and is replayed what it missed.
 */
export const SSE_MAX_BUFFERED_BYTES = 256 * 1024;

/** A text sink over a byte stream; `onStop` is called when the client is gone, or when more than `maxBuffered` bytes are unread (the stream is then dropped). */
export function boundedTextStream(maxBuffered: number, onStop: () => void) {
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: maxBuffered, size: (chunk) => chunk.byteLength });
  const writer = writable.getWriter();
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    writer.close().catch(() => {});
  };
  const write = (text: string) => {
    if (!open) return;
    writer.write(encoder.encode(text)).catch(onStop);
    if (writer.desiredSize !== null && writer.desiredSize < 0) {
      // Closing would wait for the client to read the backlog; it is dropped instead.
      open = false;
      writer.abort(new Error("The client is not reading the stream.")).catch(() => {});
      onStop();
    }
  };
  return { readable, write, close, get open() { return open; } };
}

/**
 * An SSE stream, bridged by the Worker: the hub sees one more hibernatable socket that receives
 * ready-made `id:`/`data:` frames, and the Worker adds heartbeat comments so proxies keep the
 * stream open and a vanished client is noticed.
 */
export async function sseStream(env: Env, init: Extract<ConnectInit, { kind: "sse" }>, heartbeatMs: number): Promise<Response> {
  const upstream = await connectHub(env, init);
  const ws = upstream.webSocket;
  if (!ws) throw new ApiError(503, "hub_unavailable", "The live update hub did not accept the stream; try again.");
  ws.accept();

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(heartbeat);
    try {
      ws.close(1000, "Stream closed.");
    } catch {}
    out.close();
  };
  const out = boundedTextStream(SSE_MAX_BUFFERED_BYTES, stop);
  ws.addEventListener("message", (e) => typeof e.data === "string" && out.write(e.data));
  ws.addEventListener("close", stop);
  ws.addEventListener("error", stop);
  const heartbeat = setInterval(() => out.write(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
  out.write(`retry: ${RETRY_MS}\n: connected\n\n`);

  return new Response(out.readable, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
  });
}
