/** Longest reason kept; the rest of a message is detail, not a reason. */
const MAX_REASON_LENGTH = 120;

const URL = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#"']+)[^\s"']*/gi;
const DETAILS: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<id>"],
  [/\b[a-z]+_[A-Za-z0-9]{8,}\b/g, "<id>"],
  [/\b[0-9a-f]{16,}\b/gi, "<id>"],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?/g, "<time>"],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "<address>"],
  [/"[^"]*"|'[^']*'/g, "<value>"],
];
// An HTTP status says what went wrong; any other number is detail (attempt, size, port, ...).
const STATUS_BEFORE = /\b(HTTP|status|code)\s$/i;

/**
 * Groups failure messages that differ only in ids, numbers, URL paths, times or quoted values, so
 * "HTTP 503 from https://a.example/x?id=1" and "HTTP 503 from https://a.example/y" are one reason.
 */
export function normalizeFailureReason(message: string | null | undefined): string {
  const firstLine = (message ?? "").split(/\r?\n/)[0];
  // Odd parts are URLs (the split keeps the captured origin): keep only the origin.
  const parts = firstLine.split(URL);
  let text = "";
  parts.forEach((part, i) => (text += i % 2 === 1 ? part : normalizeText(part)));
  text = text.replace(/\s+/g, " ").trim();
  if (!text) return "Unknown error";
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

function normalizeText(text: string): string {
  for (const [pattern, replacement] of DETAILS) text = text.replace(pattern, replacement);
  return text.replace(/(?<![\w<])\d+(\.\d+)?\b/g, (n: string, _frac: string, offset: number, whole: string) =>
    /^\d{3}$/.test(n) && STATUS_BEFORE.test(whole.slice(0, offset)) ? n : "<n>",
  );
}
