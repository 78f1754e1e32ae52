import pc from "picocolors";

export type Column<T> = { header: string; value: (row: T) => unknown; color?: (text: string, row: T) => string };

const text = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));

/** A plain aligned table: padding is computed on the uncoloured text, so colours never shift the columns. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => text(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[], paint: (s: string, i: number) => string) =>
    values.map((v, i) => paint(i === values.length - 1 ? v : v.padEnd(widths[i]), i)).join("  ").trimEnd();
  const head = line(columns.map((c) => c.header), (s) => pc.bold(s));
  const body = cells.map((row, r) => line(row, (s, i) => columns[i].color?.(s, rows[r]) ?? s));
  return [head, ...body].join("\n");
}

/** Key/value lines for one object, for `show`-style commands. */
export function details(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${pc.dim(k.padEnd(width))}  ${text(v)}`).join("\n");
}

export function statusColor(status: string): (s: string) => string {
  switch (status) {
    case "completed":
    case "running":
    case "succeeded":
      return status === "running" ? pc.cyan : pc.green;
    case "failed":
      return pc.red;
    case "cancelled":
    case "paused":
      return pc.yellow;
    default:
      return (s) => s;
  }
}

/** A one-line bar for `jobs wait`, redrawn in place on a terminal. */
export function progressBar(percent: number, message: string | null, width = 30): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${pc.green("#".repeat(filled))}${" ".repeat(width - filled)}] ${percent.toFixed(0).padStart(3)}%${message ? ` ${message}` : ""}`;
}
