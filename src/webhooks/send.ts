import type { Settings } from "../config";
import { BlockedTargetError, guardedFetch } from "../net/guarded-fetch";
import { originOf, withoutUrl } from "../net/redact";
import { openCredentials } from "./credentials";
import { activeSecrets } from "./endpoints";
import { renderBody } from "./formats";
import type { EndpointRow, StoredEvent } from "./model";
import { parseRetryAfter } from "./retry";
import { signatureHeaders } from "./signing";

/** Kept of each response body in the attempt log, for troubleshooting. */
export const RESPONSE_BODY_LIMIT = 1024;
const USER_AGENT = "EdgeTicker-Webhooks/1.0";

export type AttemptResult = {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
  retryAfterSeconds: number | null;
  /** The receiver answered 410 Gone: it asks never to be called again. */
  gone: boolean;
  /** Retrying cannot help (refused URL, unreadable secret, template that does not render). */
  permanent: boolean;
};

/**
 * One signed HTTP attempt of one event to one endpoint. A non-2xx answer, a redirect (never
 * followed), a timeout or a network error is a failure. The SSRF guard is applied again here.
 * The attempt's error names the endpoint by its origin only: it reaches the delivery log and alerts.
 */
export async function sendAttempt(env: Env, endpoint: EndpointRow, event: StoredEvent, settings: Settings, now = Date.now()): Promise<AttemptResult> {
  const result = await attemptOnce(env, endpoint, event, settings, now);
  return result.error === null ? result : { ...result, error: withoutUrl(result.error, endpoint.url) };
}

async function attemptOnce(env: Env, endpoint: EndpointRow, event: StoredEvent, settings: Settings, now: number): Promise<AttemptResult> {
  const fail = (error: string, permanent: boolean): AttemptResult => ({ ok: false, status: null, latencyMs: 0, error, responseBody: null, retryAfterSeconds: null, gone: false, permanent });
  let credentials;
  let rendered;
  try {
    credentials = await openCredentials(env, endpoint.credentials, endpoint.id);
    rendered = renderBody(event, endpoint.format, endpoint.format_options, credentials.token);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), true);
  }
  let headers: Headers;
  try {
    const signatures = await signatureHeaders(activeSecrets(endpoint, credentials, now), event.id, Math.floor(now / 1000), rendered.body);
    // Throws on a header value the runtime cannot send (a CR, LF or NUL stored before such values were refused).
    headers = new Headers({ ...credentials.headers, ...rendered.headers, ...signatures, "user-agent": USER_AGENT });
  } catch (err) {
    return fail(`A custom header cannot be sent: ${err instanceof Error ? err.message : String(err)}`, true);
  }
  const started = Date.now();
  let response;
  try {
    response = await guardedFetch(endpoint.url, {
      method: "POST",
      headers,
      body: rendered.body,
      timeoutMs: endpoint.timeout_ms,
      allowPrivate: settings.allowPrivateTargets,
      followRedirects: false,
      bodyLimit: RESPONSE_BODY_LIMIT,
    });
  } catch (err) {
    if (err instanceof BlockedTargetError) return fail(err.message, true);
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    const error = timedOut ? `No answer within ${endpoint.timeout_ms / 1000} s` : `Request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ...fail(error, false), latencyMs: Date.now() - started };
  }
  const { status, durationMs: latencyMs } = response;
  const location = response.headers.get("location");
  const base = { status, latencyMs, responseBody: response.body || null, retryAfterSeconds: null, gone: false, permanent: false };
  if (status >= 200 && status < 300) return { ...base, ok: true, error: null };
  if (status >= 300 && status < 400) return { ...base, ok: false, error: `Redirect (HTTP ${status}${location ? ` to ${originOf(URL.parse(location, endpoint.url)?.href ?? "")}` : ""}) not followed` };
  if (status === 410) return { ...base, ok: false, error: "HTTP 410 Gone: the endpoint asked to be removed", gone: true, permanent: true };
  return { ...base, ok: false, error: `HTTP ${status}`, retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after"), Date.now()) };
}
