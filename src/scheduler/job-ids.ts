/**
 * Job ids that name their queue. A live job is held only by its queue's scheduler, so a read by id
 * must find that queue from the id alone: new ids carry a 4-character tag of the queue name.
 *
 *   job_ + 10 time chars + 4 tag chars + 13 random chars
 *
 * One random character more than `newId`'s 16 - 4 = 12 makes a tagged id 27 characters long after
 * the prefix, so it is never mistaken for an untagged one (26), whose chars 10..14 are random.
 * The time prefix keeps ids sorting by creation.
 */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const TAGGED = /^job_[0-9a-hjkmnp-tv-z]{27}$/;
const TAG_AT = "job_".length + 10;
/** How long a Worker isolate trusts its list of known queue names. */
export const QUEUE_NAMES_TTL_MS = 5_000;

/** The 4-character tag of a queue: base32 of a 20-bit FNV-1a hash of its name. */
export function queueTag(queue: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(queue)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let v = h & 0xfffff;
  let tag = "";
  for (let i = 0; i < 4; i++) {
    tag = ALPHABET[v % 32] + tag;
    v = Math.floor(v / 32);
  }
  return tag;
}

/** A new job id for `queue`, created at `now`. */
export function newJobId(queue: string, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  for (const b of crypto.getRandomValues(new Uint8Array(13))) rand += ALPHABET[b % 32];
  return `job_${time}${queueTag(queue)}${rand}`;
}

/** The queue tag inside an id made by newJobId, or null for ids without one (older ids, compatibility ids). */
export function queueTagOf(id: string): string | null {
  return TAGGED.test(id) ? id.slice(TAG_AT, TAG_AT + 4) : null;
}

let known: { names: string[]; at: number } | null = null;
const ensured = new Set<string>();

async function queueNames(env: Env, fresh: boolean): Promise<string[]> {
  const now = Date.now();
  if (!fresh && known && now - known.at < QUEUE_NAMES_TTL_MS) return known.names;
  const { results } = await env.DB.prepare(`SELECT name FROM queues`).all<{ name: string }>();
  known = { names: results.map((r) => r.name), at: now };
  return known.names;
}

/**
 * The queues whose scheduler may hold job `id` live: those whose tag matches, or every known
 * queue for an id without a tag. A tag that matches no cached name re-reads the names once (the
 * queue may be newer than the cache).
 */
export async function liveQueuesFor(env: Env, id: string): Promise<string[]> {
  const tag = queueTagOf(id);
  const names = await queueNames(env, false);
  if (tag == null) return names;
  const matching = names.filter((n) => queueTag(n) === tag);
  if (matching.length) return matching;
  return (await queueNames(env, true)).filter((n) => queueTag(n) === tag);
}

/** Every known queue name (D1 `queues`, cached per isolate for QUEUE_NAMES_TTL_MS). */
export async function knownQueueNames(env: Env): Promise<string[]> {
  return queueNames(env, false);
}

/** Makes sure every queue that gets a job has a `queues` row, so reads by id and lists know it. */
export async function ensureQueueRows(env: Env, names: string[]): Promise<void> {
  const missing = [...new Set(names)].filter((n) => !ensured.has(n));
  if (!missing.length) return;
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO queues (name, created_at, updated_at) SELECT value, ?1, ?1 FROM json_each(?2) WHERE true ON CONFLICT (name) DO NOTHING`,
  )
    .bind(now, JSON.stringify(missing))
    .run();
  for (const n of missing) ensured.add(n);
  if (known) for (const n of missing) if (!known.names.includes(n)) known.names.push(n);
}
