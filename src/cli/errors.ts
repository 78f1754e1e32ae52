import { EdgeTickerError } from "../client/index.js";

/** Exit codes, documented in the README's CLI section. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, auth: 4, notFound: 5, jobFailed: 6 } as const;

/** A mistake in the command line itself (bad JSON, a missing setting): exit 2. */
export class UsageError extends Error {}

/** One line saying what went wrong and what to do, and the exit code for it. */
export function explain(error: unknown): { line: string; code: number } {
  if (error instanceof UsageError) return { line: error.message, code: EXIT.usage };
  if (error instanceof EdgeTickerError) {
    switch (true) {
      case error.code === "unreachable":
        return { line: `${error.message}. Check --url or EDGE_TICKER_URL, and that the deployment is running.`, code: EXIT.unreachable };
      case error.code === "timeout":
        return { line: `${error.message} Run it again with a longer --timeout.`, code: EXIT.failed };
      case error.status === 401:
        return { line: `The token was refused: ${error.message} Check --token or EDGE_TICKER_TOKEN.`, code: EXIT.auth };
      case error.status === 403:
        return { line: `The token may not do this: ${error.message} Use a key with the scope it names.`, code: EXIT.auth };
      case error.status === 404:
        return { line: `${error.message} Check the id or name (the list commands show them).`, code: EXIT.notFound };
      case error.status === 429:
        return { line: `${error.message} Try again in ${error.retryAfter ?? "a few"} seconds.`, code: EXIT.failed };
      default: {
        const details = error.details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("; ");
        return { line: `${error.message}${details && !error.message.includes(details) ? ` (${details})` : ""}`, code: EXIT.failed };
      }
    }
  }
  return { line: `Unexpected error: ${error instanceof Error ? error.message : String(error)}`, code: EXIT.failed };
}
