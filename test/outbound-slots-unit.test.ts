import { describe, expect, it } from "vitest";
import { OutboundSlots } from "../src/net/outbound-slots";

describe("outbound connection slots", () => {
  it("grants up to the limit at once, then first come first served as slots are released", async () => {
    const slots = new OutboundSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((release) => (order.push("c"), release));
    const d = slots.acquire().then((release) => (order.push("d"), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    a(); // a second release of the same slot frees nothing more
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    b();
    await d;
    expect(order).toEqual(["c", "d"]);
    releaseC();
  });

  it("stops waiting when the caller's signal aborts, without taking a slot", async () => {
    const slots = new OutboundSlots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
    held();
    const next = await slots.acquire();
    next();
    await expect(slots.acquire(AbortSignal.abort(new Error("already")))).rejects.toThrow("already");
  });
});
