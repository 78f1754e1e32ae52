const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** Time-ordered ids (48-bit ms timestamp + 80 random bits, Crockford base32), so ids sort by creation. */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const b of random) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}
