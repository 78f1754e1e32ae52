// A local stand-in for the outside world (HTTP job targets, webhook receivers), on 127.0.0.1 only.
import { createServer } from "node:http";

export function startTargetServer(port = 0) {
  const calls = new Map(); // tag -> [{ method, headers, body, at }]
  const inflight = new Map(); // tag -> { now, max }
  const hits = new Map(); // tag -> count

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    const [, route, tag = "default"] = url.pathname.split("/");
    const send = (status, payload, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    };
    const record = () => {
      const list = calls.get(tag) ?? [];
      list.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body, at: Date.now() });
      calls.set(tag, list);
    };
    switch (route) {
      case "calls":
        return send(200, { calls: calls.get(tag) ?? [], maxConcurrent: inflight.get(tag)?.max ?? 0 });
      case "record": {
        record();
        const status = Number(url.searchParams.get("status") ?? 200);
        return send(status, { ok: status < 400, received: body.length });
      }
      case "flaky": {
        record();
        const n = (hits.get(tag) ?? 0) + 1;
        hits.set(tag, n);
        const failures = Number(url.searchParams.get("fail") ?? 1);
        return n <= failures ? send(500, { error: `failure ${n}` }) : send(200, { ok: true, call: n });
      }
      case "slow": {
        record();
        const state = inflight.get(tag) ?? { now: 0, max: 0 };
        state.now++;
        state.max = Math.max(state.max, state.now);
        inflight.set(tag, state);
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 500)));
        state.now--;
        return send(200, { ok: true });
      }
      case "redirect":
        record();
        res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: url.searchParams.get("to") ?? "/record/redirected" });
        return res.end();
      case "big":
        res.writeHead(200, { "content-type": "text/plain" });
        return res.end("x".repeat(Number(url.searchParams.get("bytes") ?? 100_000)));
      default:
        return send(404, { error: "no such route" });
    }
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => resolve({ server, port: server.address().port, close: () => new Promise((r) => server.close(r)) }));
  });
}
