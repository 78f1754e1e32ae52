// An HTTP service that runs Edge Ticker's EmailNotificationJob (seed 000's example), outside Cloudflare.
//
//   EDGE_TICKER_URL=http://127.0.0.1:8787 SIGNING_SECRET=whsec_... PORT=3000 node server.mjs
//
// Every request is checked with the official Standard Webhooks library. A short email is sent
// inside the request (200 with the result); a bulk template is accepted (202) and finished later
// through the attempt's callback token, with progress and log lines on the way. A cancel notice
// stops work in progress.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";

const BULK_TEMPLATES = new Set(["newsletter"]);

export function startEmailService({ port = 3000, secret, edgeTickerUrl, bulkStepMs = 300 }) {
  const webhook = new Webhook(secret);
  const running = new Map(); // `${jobId}:${attempt}` -> AbortController

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    const reply = (status, payload) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    let job;
    try {
      // Throws unless webhook-id, webhook-timestamp and webhook-signature match this exact body.
      job = webhook.verify(body, req.headers);
    } catch {
      return reply(401, { error: "bad signature" });
    }
    if (job.action === "cancel") {
      running.get(`${job.jobId}:${job.attempt}`)?.abort();
      return reply(200, { stopped: true });
    }
    const { recipientEmail, templateId } = job.parameters;
    if (!BULK_TEMPLATES.has(templateId)) {
      return reply(200, { messageId: `msg-${job.jobId}`, deliveryStatus: "delivered", recipientEmail });
    }
    const stop = new AbortController();
    running.set(`${job.jobId}:${job.attempt}`, stop);
    sendBulk(job, stop.signal).finally(() => running.delete(`${job.jobId}:${job.attempt}`));
    return reply(202, { accepted: true });
  });

  /** Calls back with the token Edge Ticker issued for this attempt: progress, logs, then complete. */
  async function sendBulk(job, signal) {
    const callback = (path, payload) =>
      fetch(new URL(path, edgeTickerUrl), {
        method: "POST",
        headers: { authorization: `Bearer ${job.callback.token}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
    try {
      for (const percent of [25, 50, 75]) {
        await new Promise((r) => setTimeout(r, bulkStepMs));
        if (signal.aborted) return;
        const res = await callback(job.callback.paths.progress, { percent, message: `sent ${percent}%` });
        if (res.status === 409) return; // cancelled or ended: stop working
      }
      await callback(job.callback.paths.logs, { lines: [{ level: "Info", message: `newsletter sent to ${job.parameters.recipientEmail}` }] });
      await callback(job.callback.paths.complete, { result: { messageId: `bulk-${job.jobId}`, deliveryStatus: "delivered" } });
    } catch (err) {
      await callback(job.callback.paths.fail, { error: String(err) }).catch(() => {});
    }
  }

  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => resolve({ port: server.address().port, close: () => new Promise((r) => server.close(r)) }));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { port } = await startEmailService({
    port: Number(process.env.PORT ?? 3000),
    secret: process.env.SIGNING_SECRET,
    edgeTickerUrl: process.env.EDGE_TICKER_URL ?? "http://127.0.0.1:8787",
  });
  console.log(`EmailNotificationJob service on http://127.0.0.1:${port}`);
}
