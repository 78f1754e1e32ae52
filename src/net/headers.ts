import { z } from "zod";

/** An HTTP header name (an RFC 9110 token). */
export const HeaderNameSchema = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "is not a valid header name");

/**
 * An HTTP header value. CR and LF would split the header (and the runtime refuses to send it, so a
 * stored one would fail every request); NUL is refused by the runtime too.
 */
export const HeaderValueSchema = z.string().regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL characters");
