import type { Context } from "hono";
import type { z } from "zod";
import { MAX_BODY_BYTES } from "../config";
import { ApiError, validationError } from "./errors";

/** Reads a JSON body: 415 for another media type, 413 when too large, 400 when malformed or invalid. */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: { optional?: boolean; maxBytes?: number } = {},
): Promise<z.output<S>> {
  const raw = await readBodyText(c, options.maxBytes ?? MAX_BODY_BYTES);
  if (raw.trim() === "" && options.optional) return parseWith(schema, {});
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "Send the request body as application/json.");
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ApiError(400, "malformed_json", "The request body is not valid JSON.");
  }
  return parseWith(schema, value);
}

export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query());
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix: (string | number)[] = []): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error, prefix);
  return parsed.data;
}

/** Reads at most `maxBytes` of the body: a body without Content-Length is streamed and cut off at the limit, never buffered whole. */
async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

const tooLarge = (maxBytes: number) => new ApiError(413, "payload_too_large", `This request body is limited to ${maxBytes / 1024} KB.`);
