import { validate } from "@readme/openapi-parser";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DESKTOP, launchChromium, screenshot, seriousViolations } from "./browser";
import { baseUrl, call, token } from "./client";

const run = promisify(execFile);
const DOCUMENT = "/api/tickerq/openapi.json";

async function pythonHasValidators(): Promise<boolean> {
  try {
    await run("python3", ["-c", "import openapi_spec_validator, openapi_schema_validator"]);
    return true;
  } catch {
    return false;
  }
}

describe("the OpenAPI document, outside TypeScript", () => {
  it("is a valid OpenAPI 3.1 document for @readme/openapi-parser, with no warnings", async () => {
    const doc = (await call("/openapi.json", { token: null })).json;
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : result.errors, JSON.stringify(result)).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
  });

  it("drives create, get and list from Python, checking each response against the document", async () => {
    // The machine image ships these Python packages; without them this proof is missing, so fail rather than skip.
    expect(await pythonHasValidators(), "python3 needs openapi-spec-validator and openapi-schema-validator").toBe(true);
    const queue = `py-${crypto.randomUUID().slice(0, 8)}`;
    const script = fileURLToPath(new URL("./python/document_client.py", import.meta.url));
    const { stdout } = await run("python3", [script, baseUrl(), token(), DOCUMENT, queue]);
    const out = JSON.parse(stdout);
    expect(out.created).toMatch(/^job_/);
    expect(out.listed).toEqual([out.created]);
    expect(out.missing).toBe("not_found");
  });
});

describe("/docs in a browser", () => {
  it("shows the reference with no request beyond the page itself, and no serious accessibility violation", async () => {
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      const url = `${baseUrl()}/api/tickerq/docs`;
      await page.goto(url, { waitUntil: "networkidle" });
      expect(requests).toEqual([url]);
      await expect(page.getByRole("heading", { name: "Edge Ticker API" }).isVisible()).resolves.toBe(true);
      await page.getByRole("link", { name: "JobDetails", exact: true }).first().click();
      expect(page.url()).toMatch(/#schema-JobDetails$/);
      // Its fields as a table, a field's named type linked to its own entry.
      const details = page.locator("#schema-JobDetails");
      await expect(details.getByRole("row", { name: /executionHistory/ }).getByRole("link", { name: "Attempt" }).count()).resolves.toBe(1);
      await expect(details.getByRole("row", { name: /^status/ }).textContent()).resolves.toContain('"pending" | "running" | "completed" | "failed" | "cancelled"');
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "api-docs", false);
    } finally {
      await browser.close();
    }
  });
});
