import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTemplate, renderTemplate, TemplateError } from "../src/webhooks/template";

const render = (source: string, context: unknown) => renderTemplate(parseTemplate(source), context);

describe("webhook template renderer", () => {
  it("substitutes paths and escapes values for a JSON string", () => {
    const out = render('{"text":"Job {{job.name}} is {{status}}"}', { job: { name: 'say "hi"\nthen \\ leave' }, status: "failed" });
    expect(JSON.parse(out)).toEqual({ text: 'Job say "hi"\nthen \\ leave is failed' });
  });

  it("writes JSON literals outside strings: numbers, objects, null for a missing value", () => {
    const out = render('{"ms":{{durationMs}},"result":{{result}},"missing":{{nope.deeper}},"name":{{name}}}', { durationMs: 30000, result: { a: [1, "x"] }, name: 'a"b' });
    expect(JSON.parse(out)).toEqual({ ms: 30000, result: { a: [1, "x"] }, missing: null, name: 'a"b' });
  });

  it("inside a string, an object becomes its escaped JSON text and a missing value an empty string", () => {
    expect(JSON.parse(render('{"r":"{{result}}","m":"[{{missing}}]"}', { result: { k: "v" } }))).toEqual({ r: '{"k":"v"}', m: "[]" });
  });

  it("{{#eq}} chooses a branch by value, with an optional {{else}}, and nests", () => {
    const tpl = "{{#eq status 'failed'}}F{{#eq attempt 3}}3{{else}}n{{/eq}}{{else}}ok{{/eq}}|{{#eq flag true}}T{{/eq}}|{{#eq gone null}}N{{/eq}}";
    expect(render(tpl, { status: "failed", attempt: 3, flag: true })).toBe("F3|T|N");
    expect(render(tpl, { status: "failed", attempt: 1, flag: false, gone: 1 })).toBe("Fn||");
    expect(render(tpl, { status: "completed" })).toBe("ok||N");
    expect(render('{{#eq status "failed"}}yes{{/eq}}', { status: "failed" })).toBe("yes");
  });

  it("keeps track of strings across branches", () => {
    const out = render('{"a":{{#eq x 1}}"{{v}}"{{else}}{{v}}{{/eq}},"b":"{{v}}"}', { x: 1, v: 'q"' });
    expect(JSON.parse(out)).toEqual({ a: 'q"', b: 'q"' });
  });

  it("never evaluates code: a placeholder is only ever a path", () => {
    expect(() => parseTemplate("{{constructor.constructor('return 1')()}}")).toThrow(TemplateError);
    expect(render('{"x":"{{constructor}}","y":"{{__proto__}}"}', {})).toBe('{"x":"","y":""}');
  });

  it.each([
    ["{{status", /unclosed/],
    ["{{#eq status 'x'}}open", /without \{\{\/eq\}\}/],
    ["{{/eq}}", /stray/],
    ["{{else}}", /stray/],
    ["{{#eq status}}x{{/eq}}", /invalid \{\{#eq\}\}/],
    ["{{#eq status bare}}x{{/eq}}", /not a quoted string/],
    ["{{a b}}", /invalid placeholder/],
  ])("rejects %s", (source, message) => {
    expect(() => parseTemplate(source)).toThrow(message);
  });

  it("any string value (quotes, newlines, backslashes, control characters) keeps the output valid JSON", () => {
    const tpl = parseTemplate('{"summary":"Job {{jobName}} failed","raw":{{jobName}},"sev":"{{#eq status \'failed\'}}high{{else}}low{{/eq}}"}');
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.constantFrom("failed", "completed"), (jobName, status) => {
        const out = JSON.parse(renderTemplate(tpl, { jobName, status }));
        expect(out).toEqual({ summary: `Job ${jobName} failed`, raw: jobName, sev: status === "failed" ? "high" : "low" });
      }),
      { numRuns: 300 },
    );
  });
});
