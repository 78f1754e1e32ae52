import { inject } from "vitest";
import { requestJson, waitFor as pollUntil, type CallInit } from "../support/client-core";

export const baseUrl = () => inject("baseUrl");
export const token = () => inject("token");
export const targetUrl = () => inject("targetUrl");

export function call(path: string, init: CallInit = {}) {
  return requestJson(fetch, `${baseUrl()}/api/tickerq${path}`, token(), init);
}

/** Polls until the probe returns something truthy (black-box default: 20 s, every 100 ms). */
export function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  return pollUntil(probe, timeoutMs, everyMs);
}
