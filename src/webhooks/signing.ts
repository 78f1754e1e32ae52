import { toHex } from "../lib/crypto";
import { fromBase64, toBase64 } from "./credentials";

const encoder = new TextEncoder();
const utf8 = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(encoder.encode(s));

async function hmac(key: Uint8Array<ArrayBuffer>, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(message)));
}

/**
 * The key Standard Webhooks signs with: the base64 bytes after `whsec_` (so the official
 * libraries accept the secret as is), or the secret's UTF-8 bytes for a secret in another form.
 */
export function standardWebhooksKey(secret: string): Uint8Array<ArrayBuffer> {
  if (secret.startsWith("whsec_")) {
    try {
      return fromBase64(secret.slice(6));
    } catch {
      // Not base64 after all: fall through to the raw bytes, as for any other secret.
    }
  }
  return utf8(secret);
}

/**
 * The signature headers of one attempt. `X-TickerQ-Signature` is the seed's `sha256=<hex HMAC>` of
 * the exact body with the secret's UTF-8 bytes as key; `webhook-signature` is Standard Webhooks v1
 * over `id.timestamp.body`. With several active secrets (a rotation's overlap) each header carries
 * one signature per secret, newest first: comma-separated in X-TickerQ-Signature, space-separated in
 * webhook-signature.
 */
export async function signatureHeaders(secrets: string[], webhookId: string, timestampSeconds: number, body: string): Promise<Record<string, string>> {
  const signed = `${webhookId}.${timestampSeconds}.${body}`;
  const seed = await Promise.all(secrets.map(async (s) => `sha256=${toHex(await hmac(utf8(s), body))}`));
  const standard = await Promise.all(secrets.map(async (s) => `v1,${toBase64(await hmac(standardWebhooksKey(s), signed))}`));
  return {
    "x-tickerq-signature": seed.join(","),
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": standard.join(" "),
  };
}
