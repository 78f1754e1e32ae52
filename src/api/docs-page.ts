import { html } from "hono/html";
import type { OpenApiDocument } from "./openapi";

type Operation = OpenApiDocument["paths"][string][string];
type Parameter = { name: string; in: string; required?: boolean; schema?: unknown };

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1b1f24}
code,pre{font:12px ui-monospace,monospace;background:#f1f3f5;border-radius:3px}code{padding:0 .25em}pre{padding:.6em;overflow:auto;max-height:28em}
section{border-top:1px solid #d0d7de;padding:.6em 0}h2{margin-top:2em;text-transform:capitalize}h3{font-size:1em;margin:.2em 0}
.m{display:inline-block;min-width:4.2em;font-weight:600;text-transform:uppercase}.get{color:#0969da}.post{color:#1a7f37}.patch{color:#9a6700}.delete{color:#cf222e}
table{border-collapse:collapse}td,th{text-align:left;padding:.15em .6em .15em 0;vertical-align:top}summary{cursor:pointer}nav a{margin-right:.8em}`;

const pretty = (schema: unknown) => JSON.stringify(schema, null, 2);
const COMPONENT = "#/components/schemas/";

type Schema = { $ref?: string; type?: string | string[]; enum?: unknown[]; const?: unknown; items?: Schema; anyOf?: Schema[]; properties?: Record<string, Schema>; required?: string[]; description?: string; format?: string };

/** A short, linked description of a schema's type: `string (date-time) | null`, `array of JobSummary`, `"a" | "b"`. */
function typeOf(schema: Schema): ReturnType<typeof html> | string {
  if (schema.$ref?.startsWith(COMPONENT)) {
    const id = schema.$ref.slice(COMPONENT.length);
    return html`<a href="#schema-${id}">${id}</a>`;
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.anyOf) return html`${schema.anyOf.map((s, i) => html`${i ? " | " : ""}${typeOf(s)}`)}`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes("array") && schema.items) return html`array of ${typeOf(schema.items)}${types.includes("null") ? " | null" : ""}`;
  if (!types.length) return "any";
  return types.map((t) => (t === "string" && schema.format ? `string (${schema.format})` : t)).join(" | ");
}

/** An object schema's fields as a table; the JSON Schema itself stays one click away. */
function renderFields(schema: Schema) {
  if (!schema.properties) return html`<p>${typeOf(schema)}</p>`;
  const required = new Set(schema.required ?? []);
  return html`<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>${Object.entries(schema.properties).map(
    ([name, field]) => html`<tr><td><code>${name}</code>${required.has(name) ? "" : " (optional)"}</td><td>${typeOf(field)}</td><td>${field.description ?? ""}</td></tr>`,
  )}</table>`;
}

/** A named schema as a link to its entry below; any other schema as collapsible JSON (focusable, so its scroll works from the keyboard). */
function renderSchema(label: string, schema: unknown) {
  const ref = (schema as { $ref?: string }).$ref;
  if (ref?.startsWith(COMPONENT) && Object.keys(schema as object).length === 1) {
    const id = ref.slice(COMPONENT.length);
    return html`<div>${label}: <a href="#schema-${id}">${id}</a></div>`;
  }
  return html`<details><summary>${label}</summary>${(schema as Schema).properties ? renderFields(schema as Schema) : ""}<pre tabindex="0">${pretty(schema)}</pre></details>`;
}

function renderOperation(method: string, path: string, op: Operation) {
  const parameters = op.parameters as Parameter[];
  const body = "requestBody" in op ? op.requestBody?.content["application/json"].schema : undefined;
  const scopes = op.security.flatMap((s) => s.bearer);
  return html`<section id="${op.operationId}">
    <h3><span class="m ${method}">${method}</span> <code>${path}</code></h3>
    <p>${op.summary}</p>
    <p>${op.security.length === 0 ? "No token needed." : scopes.length ? html`Bearer token with scope <code>${scopes.join(", ")}</code>.` : "Bearer token."}</p>
    ${parameters.length
      ? html`<table><tr><th>Parameter</th><th>In</th><th>Schema</th></tr>${parameters.map(
          (p) => html`<tr><td><code>${p.name}</code>${p.required ? " (required)" : ""}</td><td>${p.in}</td><td><code>${JSON.stringify(p.schema)}</code></td></tr>`,
        )}</table>`
      : ""}
    ${body ? renderSchema("Request body (application/json)", body) : ""}
    <table>${Object.entries(op.responses as Record<string, { description: string; content?: Record<string, { schema: unknown }> }>).map(
      ([status, r]) => html`<tr><td><b>${status}</b></td><td>${r.description}${r.content?.["application/json"] ? renderSchema("Schema", r.content["application/json"].schema) : ""}</td></tr>`,
    )}</table>
  </section>`;
}

/** The document as one self-contained HTML page, rendered here so the page makes no request of its own. */
export function renderDocsPage(doc: OpenApiDocument, documentUrl: string) {
  const byTag = new Map<string, ReturnType<typeof renderOperation>[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags[0];
      byTag.set(tag, [...(byTag.get(tag) ?? []), renderOperation(method, path, op)]);
    }
  }
  const tags = [...byTag.keys()].sort();
  return html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><meta name="viewport" content="width=device-width,initial-scale=1" /><title>${doc.info.title}</title><style>${STYLE}</style></head>
  <body>
    <h1>${doc.info.title}</h1>
    <p>${doc.info.description}</p>
    <p>OpenAPI ${doc.openapi} document: <a href="${documentUrl}">${documentUrl}</a>. Errors have the shape <code>{ error, message, details? }</code>.</p>
    <nav>${tags.map((t) => html`<a href="#tag-${t}">${t}</a>`)}<a href="#schemas">schemas</a></nav>
    ${tags.map((t) => html`<h2 id="tag-${t}">${t}</h2>${byTag.get(t)}`)}
    <h2 id="schemas">Schemas</h2>
    ${Object.entries(doc.components.schemas).map(
      ([id, schema]) => html`<section id="schema-${id}"><h3>${id}</h3>${renderFields(schema as Schema)}<details><summary>JSON Schema</summary><pre tabindex="0">${pretty(schema)}</pre></details></section>`,
    )}
  </body>
</html>`;
}
