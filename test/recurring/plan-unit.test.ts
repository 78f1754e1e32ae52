import { describe, expect, it } from "vitest";
import { MISSED_AFTER_MS, planFires, RUN_ALL_CAP } from "../../src/recurring/plan";
import { Schedule } from "../../src/recurring/schedule";

const at = (s: string) => Date.parse(s);
const iso = (t: number | null) => (t == null ? null : new Date(t).toISOString());
const hourly = new Schedule("@hourly", "UTC");

describe("missed runs", () => {
  // The last run was 2026-06-01 10:00; the service was down until 2026-06-04 10:30.
  const cursor = at("2026-06-01T11:00:00Z");
  const now = at("2026-06-04T10:30:00Z");

  it("after a 3-day outage of an hourly job: skip runs 0, runOnce 1, runAll all 72; the next run is on time", () => {
    const skip = planFires(hourly, cursor, now, "skip");
    const once = planFires(hourly, cursor, now, "runOnce");
    const all = planFires(hourly, cursor, now, "runAll");
    expect(skip.slots).toEqual([]);
    expect(once.slots.map(iso)).toEqual(["2026-06-04T10:00:00.000Z"]);
    expect(all.slots).toHaveLength(72);
    expect(iso(all.slots[0])).toBe("2026-06-01T11:00:00.000Z");
    expect(iso(all.slots[71])).toBe("2026-06-04T10:00:00.000Z");
    for (const plan of [skip, once, all]) {
      expect(plan.missed).toBe(true);
      expect(iso(plan.next)).toBe("2026-06-04T11:00:00.000Z");
    }
  });

  it(`runAll is capped at the latest ${RUN_ALL_CAP} slots`, () => {
    const plan = planFires(hourly, at("2026-05-30T00:00:00Z"), now, "runAll");
    expect(plan.slots).toHaveLength(RUN_ALL_CAP);
    expect(iso(plan.slots[RUN_ALL_CAP - 1])).toBe("2026-06-04T10:00:00.000Z");
    expect(iso(plan.slots[0])).toBe("2026-05-31T07:00:00.000Z");
  });

  it("a slot handled a little late is on time and runs under every policy, once", () => {
    const slot = at("2026-06-04T11:00:00Z");
    for (const policy of ["skip", "runOnce", "runAll"] as const) {
      const plan = planFires(hourly, slot, slot + MISSED_AFTER_MS - 1000, policy);
      expect(plan.slots.map(iso)).toEqual(["2026-06-04T11:00:00.000Z"]);
      expect(plan.missed).toBe(false);
      expect(iso(plan.next)).toBe("2026-06-04T12:00:00.000Z");
    }
  });

  it("runOnce adds no catch-up run when an on-time run happens anyway", () => {
    const plan = planFires(hourly, cursor, at("2026-06-04T10:00:20Z"), "runOnce");
    expect(plan.slots.map(iso)).toEqual(["2026-06-04T10:00:00.000Z"]);
    expect(plan.missed).toBe(true);
  });

  it("nothing is due before the cursor", () => {
    const plan = planFires(hourly, at("2026-06-04T11:00:00Z"), now, "runAll");
    expect(plan).toEqual({ slots: [], missed: false, next: at("2026-06-04T11:00:00Z") });
  });
});
