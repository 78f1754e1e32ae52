// A TCP listener on 127.0.0.1 that accepts and closes connections: the target of tcp endpoint checks.
import { createServer } from "node:net";

export function startTcpListener(port = 0) {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.end();
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(r);
          }),
      }),
    );
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedTcpPort() {
  const listener = await startTcpListener();
  await listener.close();
  return listener.port;
}
