import { toHex } from "./crypto";

/**
 * Encryption at rest of stored credentials (webhook secrets, job credentials) with the one
 * deployment key, WEBHOOK_SECRET_KEY. There is deliberately no fallback to another setting: a key
 * derived from ADMIN_TOKEN would let anyone with a copy of D1 test admin-token guesses offline, and
 * rotating the admin token would make every stored secret unreadable.
 */
export class CredentialsUnavailableError extends Error {}

/** The settings this module reads; they are Worker secrets, so they are not in the generated Env. */
type KeySettings = { WEBHOOK_SECRET_KEY?: string; LEGACY_WEBHOOK_SECRET_KEY?: string };

export const MISSING_KEY_MESSAGE =
  "Set the WEBHOOK_SECRET_KEY secret (a long random string: `wrangler secret put WEBHOOK_SECRET_KEY`, or WEBHOOK_SECRET_KEY in .dev.vars locally) to store webhook secrets and job credentials.";

const encoder = new TextEncoder();
const VERSION = "v1";
const keys = new Map<string, Promise<CryptoKey>>();

function keySettings(env: Env): KeySettings {
  return env as unknown as KeySettings;
}

export function hasEncryptionKey(env: Env): boolean {
  return !!keySettings(env).WEBHOOK_SECRET_KEY;
}

/** An AES-GCM (encrypt) or HMAC-SHA-256 (sign) key derived from the key material with HKDF-SHA-256; `info` separates the purposes. */
function deriveKey(material: string, use: "encrypt" | "sign" = "encrypt", info = "webhook-credentials"): Promise<CryptoKey> {
  const id = `${use}\0${info}\0${material}`;
  let key = keys.get(id);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
      const hkdf = { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edge-ticker"), info: encoder.encode(info) };
      return use === "sign"
        ? crypto.subtle.deriveKey(hkdf, base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"])
        : crypto.subtle.deriveKey(hkdf, base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    })();
    keys.set(id, key);
  }
  return key;
}

/** Encrypts `plain` with WEBHOOK_SECRET_KEY; `context` is bound as additional data, so the blob opens only in that context. */
export async function sealText(env: Env, plain: string, context: string): Promise<string> {
  const material = keySettings(env).WEBHOOK_SECRET_KEY;
  if (!material) throw new CredentialsUnavailableError(MISSING_KEY_MESSAGE);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(context) }, await deriveKey(material), encoder.encode(plain));
  return `${VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** Decrypts a sealed blob with WEBHOOK_SECRET_KEY, or with LEGACY_WEBHOOK_SECRET_KEY while a migration to a new key is under way. */
export async function openText(env: Env, sealed: string, context: string): Promise<string> {
  return (await openWithAnyKey(env, sealed, context)).plain;
}

/** The blob sealed again with WEBHOOK_SECRET_KEY when it is still sealed with the legacy key; null when it already uses the current key. */
export async function resealWithCurrentKey(env: Env, sealed: string, context: string): Promise<string | null> {
  const opened = await openWithAnyKey(env, sealed, context);
  return opened.legacy ? sealText(env, opened.plain, context) : null;
}

async function openWithAnyKey(env: Env, sealed: string, context: string): Promise<{ plain: string; legacy: boolean }> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) throw new CredentialsUnavailableError("The stored secrets are in an unknown format.");
  const { WEBHOOK_SECRET_KEY: current, LEGACY_WEBHOOK_SECRET_KEY: legacy } = keySettings(env);
  if (!current && !legacy) throw new CredentialsUnavailableError(MISSING_KEY_MESSAGE);
  for (const [material, isLegacy] of [[current, false], [legacy, true]] as const) {
    if (!material) continue;
    try {
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(context) }, await deriveKey(material), fromBase64(data));
      return { plain: new TextDecoder().decode(plain), legacy: isLegacy };
    } catch {
      // Not this key; try the next one.
    }
  }
  throw new CredentialsUnavailableError(
    "The stored secrets cannot be decrypted with WEBHOOK_SECRET_KEY (was it changed? Give the old value as LEGACY_WEBHOOK_SECRET_KEY and run POST /webhooks/re-encrypt).",
  );
}

/**
 * An HMAC-SHA-256 (hex) of `value` under a key derived from WEBHOOK_SECRET_KEY for `purpose`: a
 * stable fingerprint of something that holds credentials, useless for testing guesses without the key.
 */
export async function keyedDigestHex(env: Env, value: string, purpose: string): Promise<string> {
  const material = keySettings(env).WEBHOOK_SECRET_KEY;
  if (!material) throw new CredentialsUnavailableError(MISSING_KEY_MESSAGE);
  const key = await deriveKey(material, "sign", purpose);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(value))));
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
