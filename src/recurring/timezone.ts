// Offsets come from the runtime's own IANA database through Intl, so no zone data is bundled.

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
/** Above the number of IANA zone names, so a working set of canonical names is never evicted. */
export const MAX_CACHED_FORMATTERS = 1000;

// Keyed by canonical zone names only (callers validate through canonicalTimeZone first), and
// bounded anyway: a raw request value must never add an entry.
const formatters = new Map<string, Intl.DateTimeFormat>();

function makeFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    era: "short",
  });
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = makeFormatter(timeZone);
    if (formatters.size >= MAX_CACHED_FORMATTERS) formatters.delete(formatters.keys().next().value!);
    formatters.set(timeZone, f);
  }
  return f;
}

/** How many formatters are cached (for tests). */
export function cachedFormatterCount(): number {
  return formatters.size;
}

/** The canonical IANA name ("america/new_york" → "America/New_York"), or null if the runtime does not know the zone. */
export function canonicalTimeZone(name: string): string | null {
  if (!IANA_NAME.test(name)) return null;
  try {
    const canonical = makeFormatter(name).resolvedOptions().timeZone;
    formatter(canonical);
    return canonical;
  } catch {
    return null;
  }
}

/** The zone's offset from UTC at an instant, in ms (local wall time = instant + offset). */
export function offsetAt(timeZone: string, instant: number): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(whole)) p[part.type] = part.value;
  const year = p.era === "BC" || p.era === "B" ? 1 - Number(p.year) : Number(p.year);
  const wall = Date.UTC(year, Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  return wall - whole;
}

/**
 * The first instant in (from, to] whose offset differs from `offset` (the offset at `from`),
 * or null if it holds throughout.
 */
export function firstOffsetChange(timeZone: string, from: number, to: number, offset: number): number | null {
  // Zones change offset at most a few times a year, never twice within a day.
  const STEP = 86_400_000;
  let lo = from;
  let hi: number;
  for (let probe = Math.min(from + STEP, to); ; probe = Math.min(probe + STEP, to)) {
    if (offsetAt(timeZone, probe) !== offset) {
      hi = probe;
      break;
    }
    if (probe >= to) return null;
    lo = probe;
  }
  // Offsets change on whole seconds: find the first second with the new offset.
  let loSec = Math.floor(lo / 1000);
  let hiSec = Math.floor(hi / 1000);
  while (hiSec - loSec > 1) {
    const mid = Math.floor((loSec + hiSec) / 2);
    if (offsetAt(timeZone, mid * 1000) !== offset) hiSec = mid;
    else loSec = mid;
  }
  return hiSec * 1000;
}

/** ISO 8601 with the zone's offset at that instant, e.g. "2026-03-08T03:00:00-04:00". */
export function localIso(timeZone: string, instant: number): string {
  const offset = offsetAt(timeZone, instant);
  const wall = new Date(instant + offset).toISOString().slice(0, 19);
  const minutes = Math.round(Math.abs(offset) / 60_000);
  const sign = offset < 0 ? "-" : "+";
  return `${wall}${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}
