import type { Settings } from "../config";
import { ApiError, notFound, validationError } from "../http/errors";
import { newId } from "../lib/ids";
import { checkTarget } from "../net/ssrf";
import { generateSecret, openCredentials, sealCredentials, CredentialsUnavailableError, type Credentials } from "./credentials";
import { renderBody, sampleEvent } from "./formats";
import { EndpointRowSchema, FormatOptionsSchemas, type CreateWebhook, type EndpointRow, type Format, type PatchWebhook } from "./model";
import { TemplateError } from "./template";

const DEFAULTS = { maxRetries: 3, retryDelayMs: 30_000, backoff: "exponential" as const, timeoutMs: 10_000, disableAfterFailures: 10 };

const invalid = (path: string, message: string) => new ApiError(400, "validation_error", `Invalid request: ${path}: ${message}`, [{ path, message }]);

function checkUrl(url: string, settings: Settings) {
  const target = checkTarget(url, settings.allowPrivateTargets);
  if (!target.ok) throw invalid("url", `The URL ${target.reason}.`);
}

/** Checks a format's options and, for a template, that it renders valid output for every subscribed event. */
function checkFormat(format: Format, options: Record<string, unknown>, events: string[]): Record<string, unknown> {
  const parsed = FormatOptionsSchemas[format].safeParse(options);
  if (!parsed.success) throw validationError(parsed.error, ["formatOptions"]);
  const clean = parsed.data as Record<string, unknown>;
  if (format === "template") {
    for (const type of events) {
      try {
        renderBody(sampleEvent(type), format, clean, null);
      } catch (err) {
        if (err instanceof TemplateError) throw invalid("formatOptions.template", `The template ${err.message}.`);
        throw err;
      }
    }
  }
  return clean;
}

async function seal(env: Env, credentials: Credentials, id: string): Promise<string> {
  try {
    return await sealCredentials(env, credentials, id);
  } catch (err) {
    if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
    throw err;
  }
}

export async function getEndpoint(env: Env, id: string): Promise<EndpointRow | null> {
  const row = await env.DB.prepare(`SELECT * FROM webhook_endpoints WHERE id = ?`).bind(id).first();
  return row ? EndpointRowSchema.parse(row) : null;
}

export async function requireEndpoint(env: Env, id: string): Promise<EndpointRow> {
  const row = await getEndpoint(env, id);
  if (!row) throw notFound("Webhook");
  return row;
}

export async function listEndpoints(env: Env): Promise<EndpointRow[]> {
  const { results } = await env.DB.prepare(`SELECT * FROM webhook_endpoints ORDER BY created_at, id`).all();
  return results.map((r) => EndpointRowSchema.parse(r));
}

const dedupe = <T>(list: T[]) => [...new Set(list)];
const jsonOrNull = (list: string[] | undefined) => (list?.length ? JSON.stringify(dedupe(list)) : null);

/** POST /webhooks: the URL passes the SSRF guard, the secret is generated when not given and returned this once. */
export async function createEndpoint(env: Env, input: CreateWebhook, settings: Settings): Promise<{ row: EndpointRow; secret: string }> {
  checkUrl(input.url, settings);
  const events = dedupe(input.events);
  const options = checkFormat(input.format, input.formatOptions ?? {}, events);
  const { token, ...publicOptions } = options as { token?: string };
  const id = newId("whk");
  const secret = input.secret ?? generateSecret();
  const headers = input.headers ?? {};
  const credentials = await seal(env, { secret, previousSecret: null, headers, token: token ?? null }, id);
  const policy = input.retryPolicy;
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO webhook_endpoints (id, url, description, events, filter_queues, filter_job_types, format, format_options, header_names, credentials,
       max_retries, retry_delay_ms, backoff, timeout_ms, disable_after_failures, enabled, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      input.url,
      input.description ?? null,
      JSON.stringify(events),
      jsonOrNull(input.filters?.queues),
      jsonOrNull(input.filters?.jobTypes),
      input.format,
      JSON.stringify(publicOptions),
      JSON.stringify(Object.keys(headers)),
      credentials,
      policy?.maxRetries ?? DEFAULTS.maxRetries,
      policy?.retryDelay ?? DEFAULTS.retryDelayMs,
      policy?.backoff ?? DEFAULTS.backoff,
      (input.timeoutSeconds ?? DEFAULTS.timeoutMs / 1000) * 1000,
      input.disableAfterFailures ?? DEFAULTS.disableAfterFailures,
      input.enabled === false ? 0 : 1,
      now,
      now,
    )
    .run();
  return { row: await requireEndpoint(env, id), secret };
}

/**
 * PATCH /webhooks/{id}: absent fields stay. Re-enabling an endpoint clears its failure streak.
 * Format options and headers are replaced as a whole when given; a Splunk token may be left out
 * to keep the stored one.
 */
export async function updateEndpoint(env: Env, id: string, patch: PatchWebhook, settings: Settings): Promise<EndpointRow> {
  const current = await requireEndpoint(env, id);
  if (patch.url !== undefined) checkUrl(patch.url, settings);
  const credentials = await openStored(env, current);
  const events = patch.events ? dedupe(patch.events) : current.events;
  const format = patch.format ?? current.format;
  let options = current.format_options;
  let token = credentials.token;
  if (patch.formatOptions !== undefined || patch.format !== undefined || patch.events !== undefined) {
    const given = patch.formatOptions ?? (patch.format !== undefined && patch.format !== current.format ? {} : current.format_options);
    const withToken = format === "splunk-hec" && given.token === undefined && token ? { ...given, token } : given;
    const { token: newToken, ...rest } = checkFormat(format, withToken, events) as { token?: string };
    options = rest;
    token = newToken ?? null;
  }
  const headers = patch.headers ?? credentials.headers;
  const sealed = await seal(env, { ...credentials, headers, token }, id);
  const policy = patch.retryPolicy;
  const filters = patch.filters === undefined ? { queues: current.filter_queues, jobTypes: current.filter_job_types } : patch.filters;
  const enabled = patch.enabled ?? current.enabled;
  const now = Date.now();
  const health =
    enabled && !current.enabled
      ? { reason: null, at: null, failures: 0 }
      : !enabled && current.enabled
        ? { reason: "disabled by an administrator", at: now, failures: current.consecutive_failures }
        : { reason: current.disabled_reason, at: current.disabled_at, failures: current.consecutive_failures };
  await env.DB.prepare(
    `UPDATE webhook_endpoints SET url = ?, description = ?, events = ?, filter_queues = ?, filter_job_types = ?, format = ?, format_options = ?,
       header_names = ?, credentials = ?, max_retries = ?, retry_delay_ms = ?, backoff = ?, timeout_ms = ?, disable_after_failures = ?,
       enabled = ?, disabled_reason = ?, disabled_at = ?, consecutive_failures = ?, updated_at = ?
     WHERE id = ?`,
  )
    .bind(
      patch.url ?? current.url,
      patch.description === undefined ? current.description : patch.description,
      JSON.stringify(events),
      jsonOrNull(filters?.queues ?? undefined),
      jsonOrNull(filters?.jobTypes ?? undefined),
      format,
      JSON.stringify(options),
      JSON.stringify(Object.keys(headers)),
      sealed,
      policy?.maxRetries ?? current.max_retries,
      policy?.retryDelay ?? current.retry_delay_ms,
      policy?.backoff ?? current.backoff,
      patch.timeoutSeconds !== undefined ? patch.timeoutSeconds * 1000 : current.timeout_ms,
      patch.disableAfterFailures ?? current.disable_after_failures,
      enabled ? 1 : 0,
      health.reason,
      health.at,
      health.failures,
      now,
      id,
    )
    .run();
  return requireEndpoint(env, id);
}

/** Deletes the endpoint with its delivery log. */
export async function deleteEndpoint(env: Env, id: string): Promise<boolean> {
  const [, , deleted] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)`).bind(id),
    env.DB.prepare(`DELETE FROM webhook_deliveries WHERE endpoint_id = ?`).bind(id),
    env.DB.prepare(`DELETE FROM webhook_endpoints WHERE id = ? RETURNING id`).bind(id),
  ]);
  return deleted.results.length > 0;
}

/** A new secret signs at once; the old one keeps signing alongside it until the overlap ends. */
export async function rotateSecret(env: Env, id: string, input: { secret?: string; overlap: number }): Promise<{ row: EndpointRow; secret: string }> {
  const current = await requireEndpoint(env, id);
  const credentials = await openStored(env, current);
  const secret = input.secret ?? generateSecret();
  if (secret === credentials.secret) throw invalid("secret", "must differ from the current secret");
  const now = Date.now();
  const overlapEnds = input.overlap > 0 ? now + input.overlap : null;
  const sealed = await seal(env, { ...credentials, secret, previousSecret: overlapEnds ? credentials.secret : null }, id);
  await env.DB.prepare(`UPDATE webhook_endpoints SET credentials = ?, previous_secret_expires_at = ?, updated_at = ? WHERE id = ?`).bind(sealed, overlapEnds, now, id).run();
  return { row: await requireEndpoint(env, id), secret };
}

async function openStored(env: Env, row: EndpointRow): Promise<Credentials> {
  try {
    return await openCredentials(env, row.credentials, row.id);
  } catch (err) {
    if (err instanceof CredentialsUnavailableError) throw new ApiError(503, "not_configured", err.message);
    throw err;
  }
}

/** The secrets that sign right now, newest first. */
export function activeSecrets(row: EndpointRow, credentials: Credentials, now: number): string[] {
  const previousActive = credentials.previousSecret && row.previous_secret_expires_at != null && row.previous_secret_expires_at > now;
  return previousActive ? [credentials.secret, credentials.previousSecret!] : [credentials.secret];
}

