/** One issue of a 400 validation_error: which field, and what is wrong with it. */
export type ErrorDetail = { path: string; message: string };

/** Any non-2xx answer of the API, with its error code ("not_found", "validation_error", "unauthorized", ...). */
export class EdgeTickerError extends Error {
  override readonly name = "EdgeTickerError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Seconds, from Retry-After on a 429 or 503; null otherwise. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** The API could not be reached at all (DNS, refused connection, TLS): status 0, code "unreachable". */
export class EdgeTickerNetworkError extends EdgeTickerError {
  constructor(url: string, cause: unknown) {
    super(0, "unreachable", `Could not reach ${url}: ${cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause)}`);
  }
}

/** Turns a non-2xx response into an EdgeTickerError, whatever its body (the API's error shape, or a proxy's page). */
export async function errorFrom(res: Response): Promise<EdgeTickerError> {
  const text = await res.text().catch(() => "");
  let body: { error?: unknown; message?: unknown; details?: unknown } = {};
  try {
    body = JSON.parse(text);
  } catch {}
  const retryAfter = Number(res.headers.get("retry-after"));
  return new EdgeTickerError(
    res.status,
    typeof body.error === "string" ? body.error : `http_${res.status}`,
    typeof body.message === "string" ? body.message : `HTTP ${res.status} ${res.statusText}`.trim(),
    Array.isArray(body.details) ? (body.details as ErrorDetail[]) : [],
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  );
}
