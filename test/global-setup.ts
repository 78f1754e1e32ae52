import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM helper shared with the black-box tests
import { startTargetServer } from "./support/target-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    targetUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const target = await startTargetServer();
  project.provide("targetUrl", `http://127.0.0.1:${target.port}`);
  return () => target.close();
}
