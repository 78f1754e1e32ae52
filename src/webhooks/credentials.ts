import { z } from "zod";

/** What an endpoint keeps encrypted: its signing secrets, custom header values and the Splunk token. */
export const CredentialsSchema = z.object({
  secret: z.string().min(1),
  previousSecret: z.string().min(1).nullable().default(null),
  headers: z.record(z.string(), z.string()).default({}),
  token: z.string().nullable().default(null),
});
export type Credentials = z.output<typeof CredentialsSchema>;

export class CredentialsUnavailableError extends Error {}

const encoder = new TextEncoder();
const VERSION = "v1";
const keys = new Map<string, Promise<CryptoKey>>();

/**
 * The AES-GCM key comes from the WEBHOOK_SECRET_KEY secret, or from ADMIN_TOKEN when that is not
 * set (then rotating ADMIN_TOKEN makes stored webhook secrets unreadable: set WEBHOOK_SECRET_KEY).
 */
function encryptionKey(env: Pick<Env, "ADMIN_TOKEN"> & { WEBHOOK_SECRET_KEY?: string }): Promise<CryptoKey> {
  const material = env.WEBHOOK_SECRET_KEY || env.ADMIN_TOKEN;
  if (!material) throw new CredentialsUnavailableError("Set the WEBHOOK_SECRET_KEY secret to store webhook secrets.");
  let key = keys.get(material);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edge-ticker"), info: encoder.encode("webhook-credentials") },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keys.set(material, key);
  }
  return key;
}

export async function sealCredentials(env: Env, credentials: Credentials, endpointId: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(credentials));
  // The endpoint id is bound as additional data, so a sealed blob cannot be moved to another endpoint.
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(endpointId) }, await encryptionKey(env), plain);
  return `${VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

export async function openCredentials(env: Env, sealed: string, endpointId: string): Promise<Credentials> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) throw new CredentialsUnavailableError("The endpoint's stored secrets are in an unknown format.");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(endpointId) }, await encryptionKey(env), fromBase64(data));
  } catch {
    throw new CredentialsUnavailableError("The endpoint's stored secrets cannot be decrypted (was WEBHOOK_SECRET_KEY changed?).");
  }
  return CredentialsSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(value: string): Uint8Array<ArrayBuffer> {
  const s = atob(value);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
