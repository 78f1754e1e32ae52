/** An RFC 4180 reader written apart from the exporter's writer, so a round trip checks one against the other. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else if (ch === '"' || ch === "\n" || ch === "\r") {
      throw new Error(`malformed CSV at offset ${i}: unquoted ${JSON.stringify(ch)}`);
    } else {
      field += ch;
    }
  }
  if (quoted) throw new Error("malformed CSV: unterminated quoted field");
  if (field !== "" || record.length) throw new Error("malformed CSV: the last record has no CRLF");
  return records;
}
