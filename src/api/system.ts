import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../http/app-env";
import { readSettings } from "../config";
import { buildOpenApi } from "./openapi";

/** Routes that need no token: health, the OpenAPI document and its docs page. */
// Annotated so the package build can emit declarations (the inferred route type is too large to serialise).
export const systemApi: Hono<AppEnv> = new Hono<AppEnv>()
  .get("/health", async (c) => {
    try {
      await c.env.DB.prepare("SELECT 1").first();
      return c.json({ status: "healthy", timestamp: new Date().toISOString() });
    } catch {
      return c.json({ status: "unhealthy", timestamp: new Date().toISOString(), reason: "D1 is unreachable" }, 503);
    }
  })
  .get("/openapi.json", (c) => c.json(buildOpenApi(readSettings(c.env).basePath)))
  .get("/docs", (c) => {
    const spec = `${readSettings(c.env).basePath}/openapi.json`;
    return c.html(html`<!doctype html>
      <html lang="en">
        <head><meta charset="utf-8" /><title>Edge Ticker API</title>
          <style>body{font:14px system-ui;margin:2rem;max-width:60rem}code{background:#eee;padding:0 .2em}li{margin:.3em 0}</style>
        </head>
        <body>
          <h1>Edge Ticker API</h1>
          <p>OpenAPI 3.1 document: <a href="${spec}">${spec}</a></p>
          <ul id="routes"></ul>
          <script>
            fetch(${JSON.stringify(spec)}).then((r) => r.json()).then((doc) => {
              const ul = document.getElementById("routes");
              for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
                const li = document.createElement("li");
                li.innerHTML = "<code></code> ";
                li.firstChild.textContent = method.toUpperCase() + " " + path;
                li.append(op.summary);
                ul.append(li);
              }
            });
          </script>
        </body>
      </html>`);
  });
