import type { TestProject } from "vitest/node";
// @ts-expect-error: plain ESM helper shared with the black-box tests
import { startTargetServer } from "./support/target-server.mjs";
// @ts-expect-error: plain ESM helper shared with the black-box tests
import { closedTcpPort, startTcpListener } from "./support/tcp-listener.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    targetUrl: string;
    /** A TCP listener on 127.0.0.1, and a port there that nothing listens on. */
    tcpPort: number;
    closedTcpPort: number;
  }
}

export default async function setup(project: TestProject) {
  const target = await startTargetServer();
  project.provide("targetUrl", `http://127.0.0.1:${target.port}`);
  const tcp = await startTcpListener();
  project.provide("tcpPort", tcp.port);
  project.provide("closedTcpPort", await closedTcpPort());
  return async () => {
    await target.close();
    await tcp.close();
  };
}
