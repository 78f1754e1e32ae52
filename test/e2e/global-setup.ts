import type { TestProject } from "vitest/node";
import { removeState, startDevServer } from "./dev-server";
// @ts-expect-error: plain ESM helper shared with the Workers-pool tests
import { startTargetServer } from "../support/target-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    token: string;
    targetUrl: string;
  }
}

/** One real `wrangler dev` (fresh local D1, DOs and Queues) and one local target server for all black-box tests. */
export default async function setup(project: TestProject) {
  const target = await startTargetServer();
  // Endpoint checks every second or two, so that monitoring tests see status changes quickly.
  const server = await startDevServer({ vars: { MIN_ENDPOINT_INTERVAL_SECONDS: "1" } });
  project.provide("baseUrl", server.url);
  project.provide("token", server.token);
  project.provide("targetUrl", `http://127.0.0.1:${target.port}`);
  return async () => {
    await server.stop();
    await target.close();
    removeState(server.persistDir);
  };
}
