import { checkTarget } from "./ssrf";

export class BlockedTargetError extends Error {}

const MAX_REDIRECTS = 5;

/**
 * fetch() that re-checks every redirect hop against the SSRF guard instead of letting the
 * runtime follow redirects blindly. 303 (and 301/302 after POST) switch to GET without a body.
 */
export async function guardedFetch(
  input: string,
  init: RequestInit & { allowPrivate: boolean; followRedirects: boolean },
): Promise<{ response: Response; url: string; redirects: number }> {
  let url = input;
  let { method = "GET", body } = init;
  for (let redirects = 0; ; redirects++) {
    const check = checkTarget(url, init.allowPrivate);
    if (!check.ok) throw new BlockedTargetError(`Refused ${redirects ? "redirect to " : ""}${url}: it ${check.reason}.`);
    const response = await fetch(check.url.toString(), { method, headers: init.headers, body, signal: init.signal, redirect: "manual" });
    const location = response.headers.get("location");
    if (!init.followRedirects || response.status < 300 || response.status >= 400 || !location) {
      return { response, url, redirects };
    }
    if (redirects >= MAX_REDIRECTS) throw new BlockedTargetError(`Stopped after ${MAX_REDIRECTS} redirects.`);
    await response.body?.cancel();
    url = new URL(location, url).toString();
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
    }
  }
}
