import { describe, expect, it } from "vitest";
import type { CheckResult } from "../src/monitoring/check-messages";
import type { EndpointConfig } from "../src/monitoring/endpoint-model";
import { DISPATCH_AHEAD_MS, MonitorState, REDISPATCH_MARGIN_MS } from "../src/monitoring/monitor-state";
import { applyCheck, UNKNOWN_LIVE } from "../src/monitoring/status";

const T0 = 1_800_000_000_000;
const config = (id: string, extra: Partial<EndpointConfig> = {}): EndpointConfig => ({
  id,
  name: id,
  address: "example.com",
  type: "http",
  port: null,
  scheme: "https",
  path: "/",
  method: "GET",
  expectedStatus: null,
  timeoutMs: 2000,
  group: null,
  intervalSeconds: 30,
  failureThreshold: 1,
  enabled: true,
  shard: 0,
  ...extra,
});
const result = (endpointId: string, dueAt: number, ok: boolean): CheckResult => ({ endpointId, dueAt, startedAt: dueAt + 5, ok, responseTimeMs: ok ? 20 : null, error: ok ? null : "HTTP 500" });

describe("endpoint status", () => {
  it("goes offline only after failureThreshold consecutive failures, online after one success", () => {
    let live = UNKNOWN_LIVE;
    const steps: (string | null)[] = [];
    for (const ok of [false, false, true, false, false, false, true]) {
      const r = applyCheck(live, 3, { ok, startedAt: T0, responseTimeMs: ok ? 10 : null });
      live = r.live;
      steps.push(r.change ? `${r.change.previousStatus}->${r.change.status}` : null);
    }
    expect(steps).toEqual([null, null, "unknown->online", null, null, "online->offline", "offline->online"]);
    expect(live).toMatchObject({ checksSuccess: 2, checksFailure: 5, consecutiveFailures: 0, lastResponseTimeMs: 10 });
  });
});

describe("monitor schedule", () => {
  it("checks a new endpoint at once, then every interval, sending checks due within the look-ahead together", () => {
    const s = new MonitorState();
    s.upsert(config("a"), T0);
    s.upsert(config("b"), T0 + 500);
    expect(s.takeDue(T0).map((t) => [t.endpointId, t.dueAt])).toEqual([
      ["a", T0],
      ["b", T0 + 500],
    ]);
    expect(s.takeDue(T0 + 1)).toEqual([]);
    s.accept([result("a", T0, true), result("b", T0 + 500, true)]);
    expect(s.nextWakeAt()).toBe(T0 + 30_000 - DISPATCH_AHEAD_MS);
    expect(s.takeDue(T0 + 30_500 - DISPATCH_AHEAD_MS).map((t) => t.dueAt)).toEqual([T0 + 30_000, T0 + 30_500]);
  });

  it("sends a whole look-ahead window per dispatch, never a check after its due time", () => {
    const s = new MonitorState();
    for (let i = 0; i < 100; i++) s.upsert(config(`e${i}`, { intervalSeconds: 3 }), T0 + i * 30);
    let now = T0;
    let dispatches = 0;
    const sent: { dueAt: number; at: number }[] = [];
    while (now < T0 + 9_000) {
      const tasks = s.takeDue(now);
      if (tasks.length) dispatches++;
      sent.push(...tasks.map((t) => ({ dueAt: t.dueAt, at: now })));
      s.accept(tasks.map((t) => result(t.endpointId, t.dueAt, true)));
      now = s.nextWakeAt()!;
    }
    // 100 endpoints every 3 s for 9 s: 300 checks in about one dispatch a second, not one per check.
    expect(sent.length).toBeGreaterThanOrEqual(300);
    expect(dispatches).toBeLessThanOrEqual(11);
    expect(sent.every(({ dueAt, at }) => at <= dueAt)).toBe(true);
  });

  it("sends a check again when its result has not come back within its timeout plus the margin", () => {
    const s = new MonitorState();
    s.upsert(config("a"), T0);
    expect(s.takeDue(T0)).toHaveLength(1);
    const deadline = T0 + 2000 + REDISPATCH_MARGIN_MS;
    expect(s.nextWakeAt()).toBe(deadline);
    expect(s.takeDue(deadline - 1)).toEqual([]);
    const again = s.takeDue(deadline);
    expect(again.map((t) => [t.endpointId, t.dueAt])).toEqual([["a", T0]]);
    // Once the result is in, nothing is sent again.
    s.accept([result("a", T0, false)]);
    expect(s.takeDue(deadline + 2000 + REDISPATCH_MARGIN_MS)).toEqual([]);
  });

  it("ignores duplicate and late results, by due time per endpoint", () => {
    const s = new MonitorState();
    s.upsert(config("a"), T0);
    s.takeDue(T0);
    expect(s.accept([result("a", T0, false)]).changes).toHaveLength(1);
    expect(s.accept([result("a", T0, true)]).accepted).toEqual([]);
    s.takeDue(T0 + 30_000);
    s.takeDue(T0 + 60_000);
    const { accepted, changes } = s.accept([result("a", T0 + 60_000, true), result("a", T0 + 30_000, true)]);
    expect(accepted.map((r) => r.dueAt)).toEqual([T0 + 30_000, T0 + 60_000]);
    expect(changes).toHaveLength(1);
    expect(s.accept([result("a", T0 + 30_000, false)]).accepted).toEqual([]);
    expect(s.entries.get("a")!.live).toMatchObject({ status: "online", checksSuccess: 2, checksFailure: 1 });
  });

  it("skips checks missed during a long pause instead of making them up, and checks nothing while disabled", () => {
    const s = new MonitorState();
    s.upsert(config("a"), T0);
    s.takeDue(T0);
    const late = T0 + 10 * 60_000;
    expect(s.takeDue(late).map((t) => t.dueAt)).toEqual([late]);
    expect(s.takeDue(late + 1)).toEqual([]);
    s.upsert(config("a", { enabled: false }), late);
    expect(s.takeDue(late + 60_000)).toEqual([]);
    expect(s.nextWakeAt()).toBeNull();
    expect(s.accept([result("a", late, true)]).accepted).toEqual([]);
  });

  it("starts a re-enabled endpoint over as unknown and checks it at once", () => {
    const s = new MonitorState();
    s.upsert(config("a"), T0);
    s.takeDue(T0);
    s.accept([result("a", T0, true)]);
    s.upsert(config("a", { enabled: false }), T0 + 1000);
    s.upsert(config("a"), T0 + 2000, { reEnabled: true });
    expect(s.entries.get("a")!.live.status).toBe("unknown");
    expect(s.takeDue(T0 + 2000).map((t) => t.dueAt)).toEqual([T0 + 2000]);
    expect(s.accept([result("a", T0 + 2000, true)]).changes[0].change).toMatchObject({ previousStatus: "unknown", status: "online" });
  });
});
