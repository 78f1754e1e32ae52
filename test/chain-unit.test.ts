import { describe, expect, it, vi } from "vitest";
import type { JobRow } from "../src/db/schema";
import { readSettings } from "../src/config";
import { Chain, CHAIN_MS, INVOCATION_CONCURRENCY } from "../src/execution/chain";

const job = (leaseUntil: number) => ({ leaseUntil }) as JobRow;

describe("Chain", () => {
  it("reserves room up to the invocation's concurrency, counting asks in flight", () => {
    const chain = new Chain([job(1), job(2)], 1000);
    const first = chain.reserve();
    expect(first).toBe(INVOCATION_CONCURRENCY - 2);
    expect(chain.reserve()).toBe(0);
    chain.claimed(first, [job(3)]);
    expect(chain.running).toBe(3);
    chain.ended();
    expect(chain.reserve(10)).toBe(10);
  });

  it("stops at MAX_JOBS_PER_INVOCATION, the batch's jobs included", () => {
    const chain = new Chain([job(1), job(1)], 5);
    const room = chain.reserve();
    expect(room).toBe(3);
    chain.claimed(room, [job(1), job(1), job(1)]);
    for (let i = 0; i < 5; i++) chain.ended();
    expect(chain.reserve()).toBe(0);
  });

  it(`stops asking CHAIN_MS (${CHAIN_MS} ms) after the invocation started`, () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(10_000);
      const chain = new Chain([job(1)], 1000);
      expect(chain.reserve(1)).toBe(1);
      vi.setSystemTime(10_000 + CHAIN_MS);
      expect(chain.reserve(1)).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("end() stops asking, waits for the asks in flight and returns the latest lease of everything claimed", async () => {
    const chain = new Chain([job(500)], 1000);
    const room = chain.reserve(1);
    let answer!: (jobs: JobRow[]) => void;
    const ask = chain.track(new Promise<JobRow[]>((r) => (answer = r)).then((jobs) => chain.claimed(room, jobs)));
    const ended = chain.end();
    expect(chain.reserve()).toBe(0);
    answer([job(900)]);
    await ask;
    expect(await ended).toBe(900);
  });

  it("reads MAX_JOBS_PER_INVOCATION (1–5,000), falling back to 1,000", () => {
    expect(readSettings({}).maxJobsPerInvocation).toBe(1000);
    expect(readSettings({ MAX_JOBS_PER_INVOCATION: "250" }).maxJobsPerInvocation).toBe(250);
    expect(readSettings({ MAX_JOBS_PER_INVOCATION: "1" }).maxJobsPerInvocation).toBe(1);
    for (const bad of ["0", "5001", "1.5", "lots"]) expect(readSettings({ MAX_JOBS_PER_INVOCATION: bad }).maxJobsPerInvocation).toBe(1000);
  });
});
