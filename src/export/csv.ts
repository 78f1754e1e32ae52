// Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One RFC 4180 field: quoted when it holds a comma, quote or line break, quotes doubled. A text
 * cell that a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice), so
 * strip one leading `'` to get the stored value back. Numbers are written as they are.
 */
export function csvField(value: unknown): string {
  if (value == null) return "";
  let text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record with its CRLF line ending. */
export function csvRecord(values: unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
