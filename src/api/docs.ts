import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { readSettings } from "../config";
import { renderDocsPage } from "./docs-page";
import type { OpenApiDocument } from "./openapi";

/** The OpenAPI document of the app being served, and its docs page: no token needed. */
export function docsApi(document: () => OpenApiDocument): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/openapi.json", (c) => c.json(document()))
    .get("/docs", (c) => c.html(renderDocsPage(document(), `${readSettings(c.env).basePath}/openapi.json`)));
}
