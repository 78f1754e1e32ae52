import { EdgeTickerNetworkError, errorFrom } from "./errors.js";

export type Query = Record<string, string | number | boolean | null | undefined>;
export type RequestOptions = { query?: Query; body?: unknown; headers?: Record<string, string> };

/** Sends one API request with the bearer token and returns the parsed JSON body (undefined for 204). */
export class Transport {
  constructor(
    readonly apiUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.apiUrl + path + queryString(options.query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    } catch (e) {
      throw new EdgeTickerNetworkError(this.apiUrl, e);
    }
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** Path segments are ids and names the caller gives: never let one change the path. */
export const seg = (s: string) => encodeURIComponent(s);
