import type { Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot, signedInPage, waitLive } from "./browser";
import { waitFor } from "./client";
import { freePort, removeState, startDevServer, type DevServer } from "./dev-server";

/** Calls one particular dev server (this test runs its own, so it can restart it). */
async function callOn(server: DevServer, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api/tickerq${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as any;
}

describe("dashboard live connection", () => {
  const servers: DevServer[] = [];
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await s.stop();
    if (servers[0]) removeState(servers[0].persistDir);
  });

  it("shows the drop, reconnects after a server restart and shows the jobs that changed meanwhile", async () => {
    const token = `e2e-${crypto.randomUUID()}`;
    const port = await freePort();
    const first = await startDevServer({ token, port });
    servers.push(first);
    browser = await launchChromium();
    const { context, page } = await signedInPage(browser, first.url, token);
    await page.goto(`${first.url}/dashboard/#/jobs`);
    await waitLive(page);
    const before = await callOn(first, "/jobs", { type: "echo", name: "before-the-drop" });
    await page.locator(`tr[data-job-id="${before.id}"] .badge.completed`).waitFor({ timeout: 20_000 });

    // The browser cannot reconnect until it is back online, so these jobs change while it is away.
    await context.setOffline(true);
    await first.stop();
    await page.locator('#live[data-state="off"]').waitFor({ timeout: 20_000 });
    const second = await startDevServer({ token, port, persistDir: first.persistDir });
    servers.push(second);
    const meanwhile = await callOn(second, "/jobs", { type: "echo", name: "while-away" });
    await waitFor(async () => (await callOn(second, `/jobs/${meanwhile.id}`)).status === "completed");
    expect(await page.locator(`tr[data-job-id="${meanwhile.id}"]`).count()).toBe(0);

    await context.setOffline(false);
    await waitLive(page, 30_000);
    await page.locator(`tr[data-job-id="${meanwhile.id}"] .badge.completed`).waitFor({ timeout: 20_000 });
    // And it is live again: a new job appears and finishes without a reload.
    const after = await callOn(second, "/jobs", { type: "echo", name: "after-reconnect", parameters: { sleepMs: 500 } });
    await page.locator(`tr[data-job-id="${after.id}"] .badge.completed`).waitFor({ timeout: 20_000 });
    await screenshot(page, "jobs-after-reconnect");
    await context.close();
  });
});
