import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";

/** GET /me: who the token is and what it may do (the dashboard disables the controls a token cannot use). */
export const meApi = new Hono<AppEnv>().get("/", (c) => {
  const { id, name, scopes } = c.get("principal");
  return c.json({ id, name, scopes });
});
