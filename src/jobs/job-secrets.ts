import type { JobRow } from "../db/schema";
import { ApiError } from "../http/errors";
import { sha256Hex } from "../lib/crypto";
import { CredentialsUnavailableError, keyedDigestHex, openText, resealWithCurrentKey, sealText } from "../lib/sealing";
import { getJobType } from "./registry";

/** What responses, lists, exports and events show in place of a credential. */
export const SECRET_MASK = "***";

/**
 * Additional data of sealed job credentials. Not a job id: a recurring job's runs copy its sealed
 * parameters, and whoever can write D1 can change a job's URL anyway.
 */
const CONTEXT = "job-credentials";

/** How a credential is stored: a plain string in a row written before encryption, otherwise this. */
type Sealed = { $sealed: string };
const isSealed = (v: unknown): v is Sealed => !!v && typeof v === "object" && typeof (v as Sealed).$sealed === "string";
const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

function secretPathsOf(typeName: string, parameters: unknown): string[][] {
  return isRecord(parameters) ? (getJobType(typeName)?.secretPaths?.(parameters) ?? []) : [];
}

/** The parameters with every credential replaced by "***", whether stored sealed or (older rows) in plain text. */
export function maskJobParameters(typeName: string, parameters: unknown): unknown {
  return replaceSecrets(parameters, secretPathsOf(typeName, parameters), () => SECRET_MASK);
}

/**
 * The parameters to store: every credential sealed with WEBHOOK_SECRET_KEY. Parameters without
 * credentials need no key; with credentials and no key configured this is a 503 that says what to set.
 */
export async function sealJobParameters(env: Env, typeName: string, parameters: Record<string, unknown>): Promise<Record<string, unknown>> {
  const paths = secretPathsOf(typeName, parameters);
  const sealed = new Map<string, unknown>();
  try {
    for (const path of paths) {
      const value = valueAt(parameters, path);
      if (typeof value === "string") sealed.set(path.join("\0"), { $sealed: await sealText(env, value, CONTEXT) } satisfies Sealed);
    }
  } catch (err) {
    if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
    throw err;
  }
  return replaceSecrets(parameters, paths, (value, path) => sealed.get(path.join("\0")) ?? value) as Record<string, unknown>;
}

/**
 * The fingerprint an idempotency key is checked against: SHA-256 of the request, or an HMAC keyed
 * by WEBHOOK_SECRET_KEY when it carries credentials, so that D1 holds nothing to test guesses against.
 */
export async function requestFingerprint(env: Env, request: { type: string; parameters: Record<string, unknown> }): Promise<string> {
  const json = JSON.stringify(request);
  const hasCredentials = secretPathsOf(request.type, request.parameters).some((path) => typeof valueAt(request.parameters, path) === "string");
  if (!hasCredentials) return sha256Hex(json);
  try {
    return await keyedDigestHex(env, json, "idempotency-fingerprint");
  } catch (err) {
    if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
    throw err;
  }
}

/**
 * The stored parameters with their credentials decrypted, for the job's run only. Plain-text
 * credentials of rows stored before encryption pass through unchanged.
 * @throws CredentialsUnavailableError when a credential cannot be decrypted (key missing or changed)
 */
export async function openJobParameters(env: Env, typeName: string, stored: string): Promise<unknown> {
  const parameters: unknown = JSON.parse(stored);
  const paths = secretPathsOf(typeName, parameters);
  const opened = new Map<string, string>();
  for (const path of paths) {
    const value = valueAt(parameters, path);
    if (isSealed(value)) opened.set(path.join("\0"), await openText(env, value.$sealed, CONTEXT));
  }
  return opened.size ? replaceSecrets(parameters, paths, (value, path) => opened.get(path.join("\0")) ?? value) : parameters;
}

/** What the runner hands the handler: the stored parameters with their credentials decrypted, or why that failed. */
export async function parametersForRun(env: Env, job: Pick<JobRow, "type" | "parameters">): Promise<{ ok: true; parameters: unknown } | { ok: false; error: string }> {
  try {
    return { ok: true, parameters: await openJobParameters(env, job.type, job.parameters) };
  } catch (err) {
    if (!(err instanceof CredentialsUnavailableError)) throw err;
    return { ok: false, error: `The job's credentials cannot be read: ${err.message}` };
  }
}

/**
 * For a change of stored parameters: a credential sent back as "***" (as a client read it) keeps
 * the stored value instead of becoming the literal "***".
 */
export function keepMaskedSecrets(typeName: string, next: Record<string, unknown>, stored: string): Record<string, unknown> {
  const current: unknown = JSON.parse(stored);
  return replaceSecrets(next, secretPathsOf(typeName, next), (value, path) => {
    const kept = value === SECRET_MASK ? valueAt(current, path) : undefined;
    return kept === undefined ? value : kept;
  }) as Record<string, unknown>;
}

/** Stored parameters with their credentials sealed again with the current key; null when nothing was sealed with the legacy key. */
export async function resealJobParameters(env: Env, typeName: string, stored: string): Promise<string | null> {
  const parameters: unknown = JSON.parse(stored);
  const paths = secretPathsOf(typeName, parameters);
  const resealed = new Map<string, Sealed>();
  for (const path of paths) {
    const value = valueAt(parameters, path);
    const again = isSealed(value) ? await resealWithCurrentKey(env, value.$sealed, CONTEXT) : null;
    if (again) resealed.set(path.join("\0"), { $sealed: again });
  }
  return resealed.size ? JSON.stringify(replaceSecrets(parameters, paths, (value, path) => resealed.get(path.join("\0")) ?? value)) : null;
}

function valueAt(root: unknown, path: string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** A copy of `root` with the value at each present path replaced; absent paths stay absent. */
function replaceSecrets(root: unknown, paths: string[][], replace: (value: unknown, path: string[]) => unknown): unknown {
  if (!paths.length) return root;
  const copy = structuredClone(root);
  for (const path of paths) {
    const parent = valueAt(copy, path.slice(0, -1));
    const key = path[path.length - 1];
    if (isRecord(parent) && Object.hasOwn(parent, key)) parent[key] = replace(parent[key], path);
  }
  return copy;
}
