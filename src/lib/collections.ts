/** JSON rows bound as one `json_each` parameter per statement, each well under D1's 2 MB value limit. */
export const JSON_CHUNK_BYTES = 900_000;

/**
 * Encoded rows as JSON arrays of at most `maxBytes` each (a row larger than that goes alone), to
 * bind as one `json_each` parameter: a thousand rows become a few statements, not a thousand.
 */
export function chunkJsonRows(encoded: string[], maxBytes = JSON_CHUNK_BYTES): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const s of encoded) {
    if (size + s.length > maxBytes && current.length) {
      out.push(`[${current.join(",")}]`);
      current = [];
      size = 0;
    }
    current.push(s);
    size += s.length + 1;
  }
  if (current.length) out.push(`[${current.join(",")}]`);
  return out;
}

/** Items grouped by a key, in first-seen order of the keys. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
