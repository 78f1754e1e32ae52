import { z } from "zod";
import { openText, sealText, toBase64 } from "../lib/sealing";

/** What an endpoint keeps encrypted: its signing secrets, custom header values and the Splunk token. */
export const CredentialsSchema = z.object({
  secret: z.string().min(1),
  previousSecret: z.string().min(1).nullable().default(null),
  headers: z.record(z.string(), z.string()).default({}),
  token: z.string().nullable().default(null),
});
export type Credentials = z.output<typeof CredentialsSchema>;

export { CredentialsUnavailableError, fromBase64, toBase64 } from "../lib/sealing";

export async function sealCredentials(env: Env, credentials: Credentials, endpointId: string): Promise<string> {
  // The endpoint id is bound as additional data, so a sealed blob cannot be moved to another endpoint.
  return sealText(env, JSON.stringify(credentials), endpointId);
}

export async function openCredentials(env: Env, sealed: string, endpointId: string): Promise<Credentials> {
  return CredentialsSchema.parse(JSON.parse(await openText(env, sealed, endpointId)));
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}
