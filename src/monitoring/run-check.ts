import { connect } from "cloudflare:sockets";
import { BlockedTargetError, guardedFetch } from "../net/guarded-fetch";
import { outboundSlots } from "../net/outbound-slots";
import { checkTarget } from "../net/ssrf";
import type { CheckResult, CheckTask } from "./check-messages";

const hostInUrl = (address: string) => (address.includes(":") ? `[${address}]` : address);

/** The URL an http check requests: scheme://address[:port]/path. */
export function checkUrl(task: Pick<CheckTask, "scheme" | "address" | "port" | "path">): string {
  return `${task.scheme ?? "https"}://${hostInUrl(task.address)}${task.port != null ? `:${task.port}` : ""}${task.path ?? "/"}`;
}

/** Runs one check now; never throws: a check that cannot be made is a failed check with the reason. */
export async function runCheck(task: CheckTask, allowPrivate: boolean): Promise<CheckResult> {
  const startedAt = Date.now();
  const done = (ok: boolean, responseTimeMs: number | null, error: string | null): CheckResult => ({
    endpointId: task.endpointId,
    dueAt: task.dueAt,
    startedAt,
    ok,
    responseTimeMs: ok ? responseTimeMs : null,
    error: error?.slice(0, 500) ?? null,
  });
  try {
    if (task.type === "tcp") {
      const ms = await tcpConnectTime(task.address, task.port!, task.timeoutMs, allowPrivate);
      return done(true, ms, null);
    }
    const res = await guardedFetch(checkUrl(task), { method: task.method ?? "GET", timeoutMs: task.timeoutMs, allowPrivate, followRedirects: false, bodyLimit: 0 });
    const ok = task.expectedStatus != null ? res.status === task.expectedStatus : res.status >= 200 && res.status < 400;
    return done(ok, res.durationMs, ok ? null : `HTTP ${res.status}`);
  } catch (err) {
    return done(false, null, reason(err, task.timeoutMs));
  }
}

function reason(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  if (err instanceof BlockedTargetError) return err.message;
  return err instanceof Error ? err.message || err.name : String(err);
}

/**
 * Opens a TCP connection to address:port and closes it: the time until `opened` resolves is the
 * response time. The target passes the same private-address rule as http checks.
 */
async function tcpConnectTime(address: string, port: number, timeoutMs: number, allowPrivate: boolean): Promise<number> {
  const check = checkTarget(`http://${hostInUrl(address)}:${port}/`, allowPrivate);
  if (!check.ok) throw new BlockedTargetError(`Refused ${address}:${port}: it ${check.reason}.`);
  const release = await outboundSlots.acquire();
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const socket = connect({ hostname: address, port });
  try {
    const timedOut = new Promise<never>((_, reject) => {
      timeout.addEventListener("abort", () => reject(new DOMException(`No answer within ${timeoutMs} ms`, "TimeoutError")), { once: true });
    });
    await Promise.race([socket.opened, timedOut]);
    return Date.now() - started;
  } finally {
    socket.close().catch(() => {});
    release();
  }
}
