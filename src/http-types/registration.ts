import type { Settings } from "../config";
import { ApiError, conflict, notFound } from "../http/errors";
import { getJobType } from "../jobs/registry";
import { checkTarget } from "../net/ssrf";
import { CredentialsUnavailableError, generateSecret, openCredentials, sealCredentials, type Credentials } from "../webhooks/credentials";
import { checkParameterSchema } from "./json-schema";
import type { HttpJobTypeRow, PatchHttpJobType, RegisterHttpJobType } from "./model";
import { deleteHttpJobType, getHttpJobType, insertHttpJobType, updateHttpJobType } from "./store";

const invalid = (path: string, message: string) => new ApiError(400, "validation_error", `Invalid request: ${path}: ${message}`, [{ path, message }]);

/** The additional data the type's sealed credentials are bound to (and every job's copy of them). */
export const credentialsContext = (typeName: string) => `jobtype:${typeName}`;

function checkUrl(url: string, settings: Settings) {
  const target = checkTarget(url, settings.allowPrivateTargets);
  if (!target.ok) throw invalid("url", `The URL ${target.reason}.`);
}

function schemaText(schema: Record<string, unknown> | null | undefined): string | null {
  if (!schema) return null;
  const problems = checkParameterSchema(schema, "parameters");
  if (problems.length) throw invalid(problems[0].path, problems[0].message);
  return JSON.stringify(schema);
}

async function seal(env: Env, credentials: Credentials, name: string): Promise<string> {
  try {
    return await sealCredentials(env, credentials, credentialsContext(name));
  } catch (err) {
    if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
    throw err;
  }
}

export async function requireHttpJobType(env: Env, name: string): Promise<HttpJobTypeRow> {
  const row = await getHttpJobType(env, name);
  if (!row) throw notFound(`Job type "${name}"`);
  return row;
}

/** POST /job-types: a new name, a URL the SSRF guard allows, a usable schema; the secret is returned this once. */
export async function registerHttpJobType(env: Env, input: RegisterHttpJobType, settings: Settings): Promise<{ row: HttpJobTypeRow; secret: string }> {
  if (getJobType(input.name)) throw conflict(`"${input.name}" is a built-in job type; choose another name.`);
  checkUrl(input.url, settings);
  const parameters = schemaText(input.parameters);
  const secret = generateSecret();
  const now = Date.now();
  const row: HttpJobTypeRow = {
    name: input.name,
    url: input.url,
    description: input.description ?? null,
    parameters_schema: parameters,
    timeout_ms: input.timeoutSeconds * 1000,
    max_retries: input.maxRetries,
    callback_timeout_ms: input.callbackTimeoutSeconds * 1000,
    header_names: Object.keys(input.headers),
    credentials: await seal(env, { secret, previousSecret: null, headers: input.headers, token: null }, input.name),
    created_at: now,
    updated_at: now,
  };
  if (!(await insertHttpJobType(env, row))) throw conflict(`A job type named "${input.name}" is already registered.`);
  return { row, secret };
}

/** PATCH /job-types/{name}: changes what new jobs of the type get; jobs already created keep their copy. */
export async function patchHttpJobType(env: Env, name: string, patch: PatchHttpJobType, settings: Settings): Promise<HttpJobTypeRow> {
  const current = await requireHttpJobType(env, name);
  if (patch.url !== undefined) checkUrl(patch.url, settings);
  const next: HttpJobTypeRow = {
    ...current,
    url: patch.url ?? current.url,
    description: patch.description !== undefined ? patch.description : current.description,
    parameters_schema: patch.parameters !== undefined ? schemaText(patch.parameters) : current.parameters_schema,
    timeout_ms: patch.timeoutSeconds !== undefined ? patch.timeoutSeconds * 1000 : current.timeout_ms,
    max_retries: patch.maxRetries ?? current.max_retries,
    callback_timeout_ms: patch.callbackTimeoutSeconds !== undefined ? patch.callbackTimeoutSeconds * 1000 : current.callback_timeout_ms,
    updated_at: Date.now(),
  };
  if (patch.headers !== undefined) {
    let credentials: Credentials;
    try {
      credentials = await openCredentials(env, current.credentials, credentialsContext(name));
    } catch (err) {
      if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
      throw err;
    }
    next.credentials = await seal(env, { ...credentials, headers: patch.headers }, name);
    next.header_names = Object.keys(patch.headers);
  }
  await updateHttpJobType(env, next);
  return next;
}

export async function removeHttpJobType(env: Env, name: string): Promise<void> {
  const outcome = await deleteHttpJobType(env, name);
  if (outcome === "missing") throw notFound(`Job type "${name}"`);
  if (outcome === "in_use") throw conflict(`Job type "${name}" has pending or running jobs or is used by a recurring job; let the jobs finish (or cancel them) and delete those recurring jobs first.`);
}
