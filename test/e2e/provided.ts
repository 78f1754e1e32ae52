import { inject } from "vitest";

// What the e2e global setup provides, read without its `ProvidedContext` augmentation: the typed client's
// tests are type-checked with the Workers types (tsconfig.client-tests.json), where that augmentation is not seen.
const provided = (key: "baseUrl" | "token" | "targetUrl") => inject(key as never) as unknown as string;
export const baseUrl = () => provided("baseUrl");
export const token = () => provided("token");
export const targetUrl = () => provided("targetUrl");
