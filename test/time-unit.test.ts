import { describe, expect, it } from "vitest";
import { formatTimeSpan, iso, parseTimeSpan } from "../src/lib/time";

describe("iso", () => {
  it("formats each instant right when several are asked for in turn, as an event's times are", () => {
    const times = [Date.UTC(2026, 0, 1, 0, 0, 0, 1), Date.UTC(2026, 0, 1, 0, 0, 0, 2), Date.UTC(2027, 5, 30, 23, 59, 59, 999), Date.UTC(2026, 0, 1, 0, 0, 0, 1)];
    for (let round = 0; round < 3; round++) {
      for (const t of [...times, Date.UTC(2030, 1, 2, 3, 4, 5, 6 + round)]) expect(iso(t)).toBe(new Date(t).toISOString());
    }
    expect(iso(null)).toBeNull();
    expect(iso(undefined)).toBeNull();
  });
});

describe("time spans", () => {
  it("round-trips a span through its .NET-style text", () => {
    for (const ms of [0, 1, 999, 61_001, 3_600_000, 90_061_001]) expect(parseTimeSpan(formatTimeSpan(ms)!)).toBe(ms);
    expect(formatTimeSpan(90_061_001)).toBe("1.01:01:01.001");
    expect(parseTimeSpan("25:00:00")).toBeNull();
  });
});
