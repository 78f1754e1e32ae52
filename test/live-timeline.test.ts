import { describe, expect, it } from "vitest";
import { Timeline } from "../src/scheduler/timeline";

describe("Timeline", () => {
  it("takes due jobs by priority (high first), then runAt, then arrival; leaves jobs not yet due", () => {
    const t = new Timeline();
    t.place("low-early", 100, 0);
    t.place("normal-late", 300, 1);
    t.place("high-later", 200, 2);
    t.place("normal-early-a", 100, 1);
    t.place("normal-early-b", 100, 1);
    t.place("future", 10_000, 2);
    expect(t.takeDue(1000, 3)).toEqual(["high-later", "normal-early-a", "normal-early-b"]);
    expect(t.takeDue(1000, 10)).toEqual(["normal-late", "low-early"]);
    expect(t.size).toBe(1);
    expect(t.hasDue(1000)).toBe(false);
    expect(t.earliest()).toBe(10_000);
  });

  it("a moved or dropped job leaves no stale place behind", () => {
    const t = new Timeline();
    t.place("a", 100, 1);
    t.place("b", 100, 1);
    t.place("a", 5_000, 2);
    t.drop("b");
    expect(t.takeDue(1000, 10)).toEqual([]);
    expect(t.earliest()).toBe(5_000);
    expect(t.takeDue(5_000, 10)).toEqual(["a"]);
    expect(t.size).toBe(0);
    expect(t.earliest()).toBeNull();
  });
});
