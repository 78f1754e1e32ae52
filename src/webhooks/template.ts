/**
 * The `template` format: `{{path.to.value}}` substitution and the seed's
 * `{{#eq path 'literal'}}…{{else}}…{{/eq}}` helper, parsed into a tree and interpreted (Workers
 * forbid eval and new Function). Every value is escaped for the body's content type and for where
 * it lands: in JSON, inside a string it becomes escaped string content and elsewhere a JSON
 * literal; in XML or HTML it becomes entity-escaped text; in a form body, a percent-encoded value;
 * in plain text, the text itself. A job name with quotes, newlines or tags cannot break the payload.
 */

import { endpointChange, endpointTemplateVariables, isEndpointEvent } from "./endpoint-event";
import { xmlText } from "./escape";

type Literal = string | number | boolean | null;
type Node =
  | { kind: "text"; text: string }
  | { kind: "value"; path: string[] }
  | { kind: "eq"; path: string[]; literal: Literal; then: Node[]; otherwise: Node[] };

export class TemplateError extends Error {}

const PATH = /^[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*$/;
const MAX_TEMPLATE_LENGTH = 64 * 1024;
const MAX_DEPTH = 16;

export function parseTemplate(source: string): Node[] {
  if (source.length > MAX_TEMPLATE_LENGTH) throw new TemplateError(`is longer than ${MAX_TEMPLATE_LENGTH} characters`);
  let pos = 0;
  const parseNodes = (depth: number, closers: string[]): { nodes: Node[]; closedBy: string | null } => {
    if (depth > MAX_DEPTH) throw new TemplateError(`nests blocks deeper than ${MAX_DEPTH}`);
    const nodes: Node[] = [];
    while (pos < source.length) {
      const open = source.indexOf("{{", pos);
      if (open < 0) {
        nodes.push({ kind: "text", text: source.slice(pos) });
        pos = source.length;
        break;
      }
      if (open > pos) nodes.push({ kind: "text", text: source.slice(pos, open) });
      const close = source.indexOf("}}", open + 2);
      if (close < 0) throw new TemplateError(`has an unclosed "{{" at offset ${open}`);
      const tag = source.slice(open + 2, close).trim();
      pos = close + 2;
      if (closers.includes(tag)) return { nodes, closedBy: tag };
      if (tag.startsWith("#eq ") || tag === "#eq") {
        const { path, literal } = parseEqArgs(tag.slice(3).trim(), open);
        const first = parseNodes(depth + 1, ["else", "/eq"]);
        if (!first.closedBy) throw new TemplateError(`has an {{#eq}} at offset ${open} without {{/eq}}`);
        let otherwise: Node[] = [];
        if (first.closedBy === "else") {
          const second = parseNodes(depth + 1, ["/eq"]);
          if (!second.closedBy) throw new TemplateError(`has an {{#eq}} at offset ${open} without {{/eq}}`);
          otherwise = second.nodes;
        }
        nodes.push({ kind: "eq", path, literal, then: first.nodes, otherwise });
        continue;
      }
      if (tag === "else" || tag.startsWith("/")) throw new TemplateError(`has a stray {{${tag}}} at offset ${open}`);
      if (!PATH.test(tag)) throw new TemplateError(`has an invalid placeholder {{${tag}}} at offset ${open} (use {{path.to.value}})`);
      nodes.push({ kind: "value", path: tag.split(".") });
    }
    return { nodes, closedBy: null };
  };
  const { nodes } = parseNodes(0, []);
  return nodes;
}

function parseEqArgs(args: string, offset: number): { path: string[]; literal: Literal } {
  const m = /^([^\s]+)\s+(.+)$/.exec(args);
  if (!m || !PATH.test(m[1])) throw new TemplateError(`has an invalid {{#eq}} at offset ${offset} (use {{#eq path 'value'}})`);
  const raw = m[2].trim();
  let literal: Literal;
  const quoted = /^'([^']*)'$/.exec(raw) ?? /^"([^"]*)"$/.exec(raw) ?? /^\\"((?:[^"\\])*)\\"$/.exec(raw);
  if (quoted) literal = quoted[1];
  else if (raw === "true" || raw === "false") literal = raw === "true";
  else if (raw === "null") literal = null;
  else if (/^-?\d+(\.\d+)?$/.test(raw)) literal = Number(raw);
  else throw new TemplateError(`has an {{#eq}} at offset ${offset} whose value is not a quoted string, number, boolean or null`);
  return { path: m[1].split("."), literal };
}

function lookup(context: unknown, path: string[]): unknown {
  let v: unknown = context;
  for (const key of path) {
    if (v == null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Tracks whether the output so far ends inside a JSON string literal. */
class JsonCursor {
  inString = false;
  #escaped = false;
  advance(text: string) {
    for (const ch of text) {
      if (this.#escaped) this.#escaped = false;
      else if (this.inString && ch === "\\") this.#escaped = true;
      else if (ch === '"') this.inString = !this.inString;
    }
  }
}

export type Escaping = "json" | "xml" | "form" | "text";

/** How values are escaped in a body of this content type. */
export function escapingFor(contentType: string): Escaping {
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (/[/+]json$/.test(type)) return "json";
  if (/[/+]xml$/.test(type) || type === "text/html") return "xml";
  if (type === "application/x-www-form-urlencoded") return "form";
  return "text";
}

const asText = (value: unknown) => (value === undefined || value === null ? "" : typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value));

function encode(value: unknown, escaping: Escaping, inJsonString: boolean): string {
  switch (escaping) {
    case "json":
      if (inJsonString) return JSON.stringify(asText(value)).slice(1, -1);
      return value === undefined ? "null" : JSON.stringify(value);
    case "xml":
      return xmlText(asText(value));
    case "form":
      return encodeURIComponent(asText(value));
    case "text":
      return asText(value);
  }
}

/** Renders the tree; throws a TemplateError as soon as the output passes `maxLength` characters. */
export function renderTemplate(nodes: Node[], context: unknown, escaping: Escaping = "json", maxLength = Infinity): string {
  const cursor = new JsonCursor();
  let out = "";
  const append = (text: string) => {
    out += text;
    if (out.length > maxLength) throw new TemplateError(`renders a body longer than ${maxLength} characters`);
  };
  const emit = (list: Node[]) => {
    for (const node of list) {
      if (node.kind === "text") {
        append(node.text);
        cursor.advance(node.text);
      } else if (node.kind === "value") {
        append(encode(lookup(context, node.path), escaping, cursor.inString));
      } else {
        const v = lookup(context, node.path);
        emit((v === undefined ? null : v) === node.literal ? node.then : node.otherwise);
      }
    }
  };
  emit(nodes);
  return out;
}

/**
 * What a template sees: the event's data at the top level (`{{status}}`), plus `event`, `eventId`,
 * `timestamp` and `data`; an endpoint status change adds seed 002's variables (`{{endpoint.name}}`, ...).
 */
export function templateContext(event: { id: string; type: string; timestamp: string; data: Record<string, unknown> }) {
  const base = { ...event.data, event: event.type, eventId: event.id, timestamp: event.timestamp, data: event.data };
  const change = isEndpointEvent(event.type) ? endpointChange(event.data) : null;
  return change ? { ...base, ...endpointTemplateVariables(change) } : base;
}
