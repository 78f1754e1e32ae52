/**
 * Outbound URLs are named by their host or origin only wherever a non-admin may read them (events,
 * live messages, metrics, attempt errors): a Slack or Teams webhook URL is itself the credential,
 * its token sits in the path.
 */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}

export function originOf(url: string): string {
  try {
    const { origin } = new URL(url);
    return origin === "null" ? "(a URL without an origin)" : origin;
  } catch {
    return "(invalid URL)";
  }
}

/** `text` with every occurrence of `url` (and of its form without the query) replaced by its origin. */
export function withoutUrl(text: string, url: string): string {
  const origin = originOf(url);
  const forms = [url, url.split(/[?#]/)[0]].filter((f) => f.length > origin.length);
  return forms.reduce((t, f) => t.split(f).join(origin), text);
}
