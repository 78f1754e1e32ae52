// Talks to the Edge Ticker API with the signed-in token (kept in session storage, sent only in headers).

const TOKEN_KEY = "edge-ticker.token";
let basePath = "/api/tickerq";

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** Where the API is mounted (API_BASE_PATH), as the Worker reports it. */
export async function loadSettings() {
  try {
    const res = await fetch("/dashboard/settings.json");
    if (res.ok) basePath = (await res.json()).apiBasePath || basePath;
  } catch {}
  return basePath;
}
export const apiBase = () => basePath;

export class ApiFailure extends Error {
  constructor(status, body) {
    // The API's own sentence (for validation errors it already names each field and problem).
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** One API call; throws ApiFailure with the API's message for any non-2xx answer. */
export async function api(path, { method, body, token = getToken() } = {}) {
  const res = await fetch(`${basePath}${path}`, {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {}
  if (!res.ok) throw new ApiFailure(res.status, data);
  return data;
}

export const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

/**
 * The job types for the New-job form, from GET /job-types
 * (`{ jobTypes: [{ name, kind, description, parameters (JSON Schema), timeoutSeconds }] }`).
 */
export async function fetchJobTypes() {
  return (await api("/job-types")).jobTypes;
}

/**
 * What goes into `access_token` on the streaming routes: a short-lived single-use ticket from
 * POST /realtime/tickets, so the long-lived token is never in a URL.
 */
export async function streamAccessToken() {
  const data = await api("/realtime/tickets", { method: "POST", body: {} });
  return data.ticket;
}
