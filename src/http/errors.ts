import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

export type ErrorDetail = { path: string; message: string };

/** The one error type: a status, a stable code and a message that is safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} was not found.`);
export const conflict = (message: string) => new ApiError(409, "conflict", message);

export function validationError(error: z.ZodError, prefix: (string | number)[] = []): ApiError {
  const details = error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))]),
    message: issue.message,
  }));
  const first = details[0];
  const message = first ? `Invalid request: ${first.path ? `${first.path}: ` : ""}${first.message}` : "Invalid request.";
  return new ApiError(400, "validation_error", message, details);
}

export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

export function errorBody(err: ApiError) {
  return { error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** Renders any thrown value in the single error shape; unexpected errors are logged, never leaked. */
export function renderError(err: unknown, c: Context): Response {
  const apiError = toApiError(err);
  if (apiError.status >= 500) console.error("unhandled error", err);
  return c.json(errorBody(apiError), apiError.status, apiError.headers);
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = err.status === 401 ? "unauthorized" : err.status === 413 ? "payload_too_large" : "bad_request";
    return new ApiError(err.status as ContentfulStatusCode, code, err.message || "Request failed.");
  }
  return new ApiError(500, "internal_error", "An unexpected error occurred.");
}
