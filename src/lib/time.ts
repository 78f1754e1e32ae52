/** The last few instants formatted (most recent first). */
const recentIso: { ms: number; text: string }[] = [];
const RECENT_ISO = 4;

/** ISO 8601 UTC for an epoch-ms timestamp, or null. */
export function iso(ms: number | null | undefined): string | null {
  if (ms == null) return null;
  // Jobs created, claimed or ended together share their times, and an event asks for several of
  // them in turn (scheduled, started, completed): a batch's events ask for the same few again and again.
  for (const r of recentIso) if (r.ms === ms) return r.text;
  const text = new Date(ms).toISOString();
  recentIso.unshift({ ms, text });
  if (recentIso.length > RECENT_ISO) recentIso.pop();
  return text;
}

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/** Parses a .NET-style TimeSpan ("hh:mm:ss", "d.hh:mm:ss", optional ".fff") into milliseconds. */
export function parseTimeSpan(value: string): number | null {
  const m = TIMESPAN.exec(value);
  if (!m) return null;
  const [, d, h, min, s, frac] = m;
  const hours = Number(h);
  const minutes = Number(min);
  const seconds = Number(s);
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  return ((Number(d ?? 0) * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000 + ms;
}

/** Formats milliseconds as the seed's "hh:mm:ss" ("d.hh:mm:ss" past a day, ".fff" when not whole seconds). */
export function formatTimeSpan(ms: number | null | undefined): string | null {
  if (ms == null) return null;
  const total = Math.max(0, Math.round(ms));
  const days = Math.floor(total / 86_400_000);
  const hours = Math.floor(total / 3_600_000) % 24;
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  const millis = total % 1000;
  const pad = (n: number) => String(n).padStart(2, "0");
  const base = `${days ? `${days}.` : ""}${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  return millis ? `${base}.${String(millis).padStart(3, "0")}` : base;
}

/** The end of a range given as a date or an instant: a bare date means the whole of that day. */
export function endOfRange(to: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(to) ? Date.parse(`${to}T23:59:59.999Z`) : Date.parse(to);
}
