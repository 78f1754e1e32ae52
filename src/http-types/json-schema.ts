import { format as FORMATS, Validator, type Schema } from "@cfworker/json-schema";
import type { ErrorDetail } from "../http/errors";

// Workers forbid code generation, so schemas are interpreted (not compiled) by @cfworker/json-schema.
const DRAFT = "2020-12";
/** A registered parameter schema is kept small: it is read on every job creation of its type. */
export const MAX_SCHEMA_BYTES = 32 * 1024;

const TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"];
const sub = { $ref: "#/$defs/schema" };
const subs = { type: "array", minItems: 1, items: sub };
const subMap = { type: "object", additionalProperties: sub };
const count = { type: "integer", minimum: 0 };

/**
 * The subset of JSON Schema 2020-12 the validator is known to handle, as a schema of schemas.
 * Anything outside it (a typo'd type, a remote $ref, a non-numeric bound) is refused at
 * registration rather than silently ignored when jobs are validated.
 */
const META_SCHEMA = {
  $defs: {
    schema: {
      anyOf: [
        { type: "boolean" },
        {
          type: "object",
          additionalProperties: false,
          properties: {
            $schema: { const: "https://json-schema.org/draft/2020-12/schema" },
            $id: { type: "string" },
            $comment: { type: "string" },
            $ref: { type: "string", pattern: "^#" },
            $defs: subMap,
            definitions: subMap,
            title: { type: "string" },
            description: { type: "string" },
            default: true,
            examples: { type: "array" },
            deprecated: { type: "boolean" },
            readOnly: { type: "boolean" },
            writeOnly: { type: "boolean" },
            type: { anyOf: [{ enum: TYPES }, { type: "array", minItems: 1, uniqueItems: true, items: { enum: TYPES } }] },
            enum: { type: "array", minItems: 1 },
            const: true,
            properties: subMap,
            patternProperties: subMap,
            additionalProperties: sub,
            propertyNames: sub,
            required: { type: "array", uniqueItems: true, items: { type: "string" } },
            dependentRequired: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
            dependentSchemas: subMap,
            minProperties: count,
            maxProperties: count,
            items: sub,
            prefixItems: subs,
            contains: sub,
            minContains: count,
            maxContains: count,
            minItems: count,
            maxItems: count,
            uniqueItems: { type: "boolean" },
            minimum: { type: "number" },
            maximum: { type: "number" },
            exclusiveMinimum: { type: "number" },
            exclusiveMaximum: { type: "number" },
            multipleOf: { type: "number", exclusiveMinimum: 0 },
            minLength: count,
            maxLength: count,
            pattern: { type: "string" },
            // An unknown format would be silently ignored when jobs are validated.
            format: { enum: Object.keys(FORMATS) },
            allOf: subs,
            anyOf: subs,
            oneOf: subs,
            not: sub,
            if: sub,
            then: sub,
            else: sub,
          },
        },
      ],
    },
  },
  $ref: "#/$defs/schema",
};

/** Why a JSON Schema cannot be used for a job type's parameters (empty when it can), under `path`. */
export function checkParameterSchema(schema: unknown, path: string): ErrorDetail[] {
  const fail = (message: string, at = "") => [{ path: `${path}${at}`, message }];
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES) return fail(`must be at most ${MAX_SCHEMA_BYTES / 1024} KB as JSON`);
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return fail("must be a JSON Schema object");
  const meta = new Validator(META_SCHEMA as Schema, DRAFT, false).validate(schema);
  if (!meta.valid) {
    // The deepest error is the one that names the offending keyword.
    const deepest = meta.errors.reduce((a, b) => (b.instanceLocation.length > a.instanceLocation.length ? b : a));
    return fail(`is not a valid JSON Schema keyword or value (or one this server does not support): ${deepest.error}`, pointerToPath(deepest.instanceLocation));
  }
  if ((schema as { type?: unknown }).type !== "object") return fail('must have "type": "object" (job parameters are a JSON object)', ".type");
  const badPattern = findBadPattern(schema, "");
  if (badPattern) return fail(`has a pattern that is not a valid regular expression`, badPattern);
  const badRef = findUnresolvedRef(schema, schema, "");
  if (badRef) return fail("points to nothing in this schema", badRef);
  try {
    new Validator(structuredClone(schema) as Schema, DRAFT, false).validate({});
  } catch (err) {
    return fail(`cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  }
  return [];
}

/** Validates job parameters against a registered schema; each problem names the field, under `path`. */
export function checkParameters(schemaText: string, parameters: unknown, path: string): ErrorDetail[] {
  const result = new Validator(JSON.parse(schemaText) as Schema, DRAFT, false).validate(parameters);
  if (result.valid) return [];
  // The validator reports each failure and every enclosing keyword that failed because of it;
  // the deepest locations are the fields themselves.
  const depth = Math.max(...result.errors.map((e) => e.instanceLocation.length));
  const leaves = result.errors.filter((e) => e.instanceLocation.length === depth || e.keyword === "required");
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const e of leaves.sort((a, b) => (a.keyword === "required" ? -1 : 0) - (b.keyword === "required" ? -1 : 0))) {
    const field = e.keyword === "required" ? requiredField(e.error) : undefined;
    const at = `${path}${pointerToPath(e.instanceLocation)}${field ? `.${field}` : ""}`;
    const message = field ? "is required" : e.error;
    if (seen.has(at)) continue;
    seen.add(at);
    details.push({ path: at, message });
  }
  return details;
}

function requiredField(message: string): string | undefined {
  return /required property "([^"]+)"/.exec(message)?.[1];
}

/** "#/a/0/b" → ".a[0].b" */
function pointerToPath(pointer: string): string {
  return pointer
    .replace(/^#/, "")
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("");
}

function findBadPattern(node: unknown, at: string): string | null {
  if (typeof node !== "object" || node === null) return null;
  for (const [key, value] of Object.entries(node)) {
    const here = Array.isArray(node) ? `${at}[${key}]` : `${at}.${key}`;
    if (key === "pattern" && typeof value === "string" && !compiles(value)) return here;
    if (key === "patternProperties" && value && typeof value === "object") {
      const bad = Object.keys(value).find((p) => !compiles(p));
      if (bad !== undefined) return `${here}`;
    }
    const inner = findBadPattern(value, here);
    if (inner) return inner;
  }
  return null;
}

/** The path of the first `$ref` whose JSON pointer does not resolve within the schema itself. */
function findUnresolvedRef(root: unknown, node: unknown, at: string): string | null {
  if (typeof node !== "object" || node === null) return null;
  for (const [key, value] of Object.entries(node)) {
    const here = Array.isArray(node) ? `${at}[${key}]` : `${at}.${key}`;
    if (key === "$ref" && typeof value === "string" && resolvePointer(root, value) === undefined) return here;
    const inner = findUnresolvedRef(root, value, here);
    if (inner) return inner;
  }
  return null;
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}
