import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (k INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  }
  hit() {
    this.ctx.storage.sql.exec("INSERT INTO hits (k, n) VALUES (1, 1) ON CONFLICT (k) DO UPDATE SET n = n + 1");
    return true;
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/api/tickerq/health") return new Response("ok");
    const id = crypto.randomUUID();
    await env.DB.prepare("INSERT INTO jobs (id, created_at) VALUES (?, ?)").bind(id, Date.now()).run();
    await env.COUNTER.get(env.COUNTER.idFromName("floor")).hit();
    await env.QUEUE.send({ id });
    return new Response(id);
  },
  async queue(batch) {
    batch.ackAll();
  },
};
