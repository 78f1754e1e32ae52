// A local stand-in for the outside world (HTTP job targets, webhook receivers), on 127.0.0.1 only.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

export function startTargetServer(port = 0) {
  const calls = new Map(); // tag -> [{ method, headers, body, at }]
  const inflight = new Map(); // tag -> { now, max }
  const hits = new Map(); // tag -> count
  const secrets = new Map(); // tag -> webhook secret the /verify receiver checks against

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
        const retryAfter = url.searchParams.get("retryAfter");
        const failStatus = Number(url.searchParams.get("failStatus") ?? 500);
        return n <= failures ? send(failStatus, { error: `failure ${n}` }, retryAfter ? { "retry-after": retryAfter } : {}) : send(200, { ok: true, call: n });
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
      case "secret":
        secrets.set(tag, body);
        return send(204);
      case "verify": {
        // A webhook receiver with its own HMAC code: both signatures must verify, else 401.
        const verified = verifyWebhook(body, req.headers, secrets.get(tag) ?? "");
        const list = calls.get(tag) ?? [];
        list.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body, at: Date.now(), verified });
        calls.set(tag, list);
        return verified.seed && verified.standard ? send(Number(url.searchParams.get("status") ?? 200), { ok: true }) : send(401, { error: "bad signature", verified });
      }
      case "service": {
        // A job type's HTTP service: checks the Standard Webhooks signature with the official
        // package (secret from /secret/<tag>), answers `?status=` (after `?fail=` 500s) `?delayMs=`
        // after the request arrived, and acknowledges cancel notices.
        let verified = false;
        try {
          new Webhook(secrets.get(tag) ?? "whsec_").verify(body, req.headers);
          verified = true;
        } catch {}
        const list = calls.get(tag) ?? [];
        list.push({ method: req.method, path: url.pathname, headers: req.headers, body, at: Date.now(), verified });
        calls.set(tag, list);
        if (!verified) return send(401, { error: "bad signature" });
        const job = JSON.parse(body);
        if (job.action === "cancel") return send(200, { stopped: job.jobId });
        const n = (hits.get(tag) ?? 0) + 1;
        hits.set(tag, n);
        if (n <= Number(url.searchParams.get("fail") ?? 0)) return send(500, { error: `failure ${n}` });
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get("delayMs") ?? 0)));
        const status = Number(url.searchParams.get("status") ?? 200);
        if (status === 202) return send(202, { accepted: true });
        return send(status, { messageId: `msg-${n}`, deliveryStatus: "delivered", to: job.parameters?.recipientEmail ?? null });
      }
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

/** Verifies X-TickerQ-Signature (hex HMAC of the raw body) and Standard Webhooks v1 (base64 HMAC of id.timestamp.body). */
export function verifyWebhook(rawBody, headers, secret) {
  const same = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const seedExpected = `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
  const seed = String(headers["x-tickerq-signature"] ?? "").split(",").some((s) => same(s.trim(), seedExpected));
  const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret);
  const id = String(headers["webhook-id"] ?? "");
  const timestamp = String(headers["webhook-timestamp"] ?? "");
  const v1 = `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${rawBody}`).digest("base64")}`;
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  const standard = fresh && String(headers["webhook-signature"] ?? "").split(" ").some((s) => same(s, v1));
  return { seed, standard };
}
