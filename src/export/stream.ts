import { csvRecord } from "./csv";

export type ExportFormat = "csv" | "json" | "ndjson";

/** A named output column: the CSV header and the JSON field. */
export type Column<T> = { name: string; value(row: T): unknown };

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
};

/**
 * Streams records page by page: a page is read from D1 only when the client has taken the
 * previous one, so memory holds at most a page or two whatever the size of the export.
 * CSV gets a header row; JSON is one array; NDJSON one object per line.
 */
export function exportStream<T>(pages: AsyncGenerator<T[]>, format: ExportFormat, columns: Column<T>[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let started = false;
  let count = 0;
  const record = (row: T) => Object.fromEntries(columns.map((c) => [c.name, c.value(row) ?? null]));
  const render = (row: T): string => {
    if (format === "csv") return csvRecord(columns.map((c) => c.value(row)));
    const json = JSON.stringify(record(row));
    return format === "ndjson" ? `${json}\n` : `${count++ ? ",\n" : "\n"}${json}`;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let text = "";
        if (!started) {
          started = true;
          if (format === "csv") text += csvRecord(columns.map((c) => c.name));
          if (format === "json") text += "[";
        }
        try {
          const page = await pages.next();
          if (page.done) {
            if (format === "json") text += "\n]\n";
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          for (const row of page.value) text += render(row);
        } catch (err) {
          console.error("export failed while streaming", err);
          controller.error(err);
          return;
        }
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await pages.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

export function exportResponse(body: ReadableStream<Uint8Array>, format: ExportFormat, filename: string): Response {
  return new Response(body, {
    headers: {
      "content-type": CONTENT_TYPES[format],
      "content-disposition": `attachment; filename="${filename}.${format}"`,
      "cache-control": "no-store",
    },
  });
}
