import { endOfRange } from "../lib/time";
import { ApiError } from "./errors";

const DAY_MS = 86_400_000;

/**
 * A [from, to] period from optional query values (`to` defaults to now, `from` to `defaultDays`
 * before it; a bare date as `to` means the end of that day). 400 when from is after to or the
 * span is longer than `maxDays`.
 */
export function resolvePeriod(
  input: { from?: string; to?: string },
  options: { now: number; defaultDays: number; maxDays: number; names?: [string, string] },
): { from: number; to: number } {
  const [fromName, toName] = options.names ?? ["from", "to"];
  const to = input.to ? endOfRange(input.to) : options.now;
  const from = input.from ? Date.parse(input.from) : to - options.defaultDays * DAY_MS + 1;
  if (from > to) throw invalid(fromName, `must not be after ${toName}`);
  if (to - from > options.maxDays * DAY_MS) throw invalid(toName, `the period may span at most ${options.maxDays} days`);
  return { from, to };
}

const invalid = (path: string, message: string) => new ApiError(400, "validation_error", `Invalid request: ${path}: ${message}`, [{ path, message }]);
