// Shared by the Workers-pool helpers and the black-box client: no runtime-specific imports here.

export type CallInit = { method?: string; body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string> };

/** Sends a JSON request with a bearer token and reads the answer as JSON (or text, if it is not JSON). */
export async function requestJson(fetcher: (req: Request) => Promise<Response>, url: string, token: string, init: CallInit = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetcher(new Request(url, { method: init.method ?? (body !== undefined ? "POST" : "GET"), headers, body }));
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Polls until the probe returns something truthy, or fails after the timeout. */
export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
