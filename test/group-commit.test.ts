import { describe, expect, it } from "vitest";
import { GroupCommit } from "../src/execution/group-commit";

describe("GroupCommit", () => {
  it("flushes at once when every expected producer has reported", async () => {
    const groups: number[][] = [];
    const gc = new GroupCommit<number>(3, 10_000, async (items) => void groups.push(items));
    await Promise.all([gc.add(1), gc.add(2), gc.add(3)]);
    expect(groups).toEqual([[1, 2, 3]]);
  });

  it("flushes what arrived within the window, then the rest on its own", async () => {
    const groups: number[][] = [];
    const gc = new GroupCommit<number>(3, 20, async (items) => void groups.push(items));
    const first = Promise.all([gc.add(1), gc.add(2)]);
    await first;
    expect(groups).toEqual([[1, 2]]);
    await gc.add(3);
    expect(groups).toEqual([[1, 2], [3]]);
  });

  it("rejects every add of a group whose flush failed", async () => {
    const gc = new GroupCommit<number>(2, 10, async () => {
      throw new Error("store down");
    });
    const results = await Promise.allSettled([gc.add(1), gc.add(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
