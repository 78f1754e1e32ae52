import { readSettings, type Settings, type UsageLimits } from "../config";
import { findIdempotencyKeys, idempotencyKeyStatements, isIdempotencyKeyRace, type IdempotencyRecord, type NewJob } from "../db/jobs";
import type { JobRow } from "../db/schema";
import { ApiError, formatPath, validationError, type ErrorDetail } from "../http/errors";
import { getJobType, jobTypeNames } from "../jobs/registry";
import { requestFingerprint, sealJobParameters } from "../jobs/job-secrets";
import { resolveRegisteredTypes, type RegisteredTypes } from "../http-types/resolve";
import { DEFAULT_MAX_RETRIES, MAX_TIMEOUT_SECONDS, newJobRow, priorityRank, type JobRequest } from "../model/job";
import { queueDefaults } from "../db/queues";
import { ensureQueueRows, newJobId } from "../scheduler/job-ids";
import { createLiveJobs } from "../scheduler/client";
import { getJobs } from "./job-reads";
import { ensureQueueRoom } from "./usage-limits";

export type CreateItem = { request: JobRequest; idempotencyKey?: string; id?: string };
export type CreateOptions = {
  /** Those binding the caller (see usage-limits), null for none. */
  limits: UsageLimits | null;
  /** Rows of other tables to commit in D1 before the jobs are created (e.g. a compatibility record). */
  extraStatements?: (jobs: NewJob[]) => D1PreparedStatement[];
};
export type Created = { job: JobRow; replayed: boolean };

/**
 * Validates every request against its job type, then creates all of them in their queues'
 * schedulers, which own live jobs. One bad item stores none.
 * `pathOf(i)` names item i in error details (e.g. `jobs[3]`).
 */
export async function createJobs(
  env: Env,
  principalId: string,
  items: CreateItem[],
  pathOf: (i: number) => (string | number)[],
  options: CreateOptions,
): Promise<Created[]> {
  const settings = readSettings(env);
  const now = Date.now();
  const details: ErrorDetail[] = [];
  const rows: NewJob[] = [];
  const [defaults, registered] = await Promise.all([
    queueDefaults(env, items.map((i) => i.request.queue)),
    resolveRegisteredTypes(env, items.map((i) => i.request.type)),
  ]);
  for (const [i, { request, idempotencyKey, id }] of items.entries()) {
    const problems = checkTypeAndParameters(request.type, request.parameters, settings, pathOf(i), registered);
    const http = registered.get(request.type);
    const type = getJobType(request.type) ?? http;
    if (problems.length || !type) {
      details.push(...problems);
      continue;
    }
    const runAt = request.executeAt ? Date.parse(request.executeAt) : now + (request.delay ?? 0);
    rows.push({
      id: id ?? newJobId(request.queue, now),
      queue: request.queue,
      type: request.type,
      name: request.name ?? request.type,
      priority: priorityRank(request.priority),
      parameters: JSON.stringify(await sealJobParameters(env, request.type, request.parameters)),
      runAt: Math.max(runAt, now),
      maxRetries: request.maxRetries ?? http?.maxRetries ?? defaults.get(request.queue)?.maxRetries ?? DEFAULT_MAX_RETRIES,
      // A job type's default may be longer than a job can run (the http type's is 15 min).
      timeoutMs: Math.min((request.timeoutSeconds ?? 0) * 1000 || http?.timeoutMs || defaults.get(request.queue)?.timeoutMs || type.timeoutMs, MAX_TIMEOUT_SECONDS * 1000),
      idempotencyKey: idempotencyKey ? `${principalId}:${idempotencyKey}` : null,
      requestHash: idempotencyKey ? await requestFingerprint(env, request) : null,
      createdAt: now,
    });
  }
  if (details.length) {
    throw new ApiError(400, "validation_error", `Invalid request: ${details[0].path}: ${details[0].message}`, details);
  }
  await ensureQueueRoom(env, rows.map((r) => r.queue), options.limits);

  await ensureQueueRows(env, rows.map((r) => r.queue));

  for (let tries = 0; tries < 2; tries++) {
    const keys = rows.map((r) => r.idempotencyKey).filter((k): k is string => !!k);
    const existing = await findIdempotencyKeys(env, keys, now);
    const conflicts = rows.flatMap((r, i) => {
      const prior = r.idempotencyKey ? existing.get(r.idempotencyKey) : undefined;
      return prior && prior.requestHash !== r.requestHash
        ? [{ path: formatPath(pathOf(i)) || "Idempotency-Key", message: "This idempotency key was already used with a different request." }]
        : [];
    });
    if (conflicts.length) throw new ApiError(409, "idempotency_conflict", conflicts[0].message, conflicts);
    const priorJobs = new Map((await getJobs(env, [...existing.values()].map((k) => k.jobId))).map((j) => [j.id, j]));
    // A key whose job is nowhere was recorded by a request whose create then failed: this request
    // creates that job, under the id the key already names.
    for (const r of rows) {
      const prior = r.idempotencyKey ? existing.get(r.idempotencyKey) : undefined;
      if (prior && !priorJobs.has(prior.jobId)) r.id = prior.jobId;
    }
    const replayed = (r: NewJob) => (r.idempotencyKey ? priorJobs.get(existing.get(r.idempotencyKey)?.jobId ?? "") : undefined);
    const fresh = rows.filter((r) => !replayed(r));
    const newKeys: IdempotencyRecord[] = fresh.flatMap((r) =>
      r.idempotencyKey && !existing.has(r.idempotencyKey) ? [{ key: r.idempotencyKey, jobId: r.id, requestHash: r.requestHash ?? "", createdAt: now }] : [],
    );
    // Keys, the compatibility record and registered types' definitions commit in D1 before the
    // jobs exist: a job never runs without them, and a key that raced in stops this request first.
    const d1 = [...idempotencyKeyStatements(env, newKeys, now), ...(options.extraStatements?.(fresh) ?? []), ...registered.statements(env, fresh)];
    if (d1.length) {
      try {
        await env.DB.batch(d1);
      } catch (err) {
        if (isIdempotencyKeyRace(err)) continue;
        throw err;
      }
    }
    // Durable once this returns: each queue's scheduler committed its jobs (and announces them).
    await createLiveJobs(env, fresh);
    return rows.map((r) => {
      const prior = replayed(r);
      return prior ? { job: prior, replayed: true } : { job: newJobRow(r, now), replayed: false };
    });
  }
  throw new ApiError(409, "idempotency_conflict", "A concurrent request with the same idempotency key is in progress; retry it.");
}

/**
 * What is wrong with a job type and its parameters (empty when nothing), each problem under `path`.
 * Registered HTTP job types count only when `registered` (resolveRegisteredTypes) is given.
 */
export function checkTypeAndParameters(
  typeName: string,
  parameters: unknown,
  settings: Settings,
  path: (string | number)[],
  registered?: RegisteredTypes,
): ErrorDetail[] {
  const type = getJobType(typeName);
  const http = type ? undefined : registered?.get(typeName);
  if (http) return http.check(parameters, settings, path);
  if (!type) {
    const known = [...jobTypeNames(), ...(registered?.names ?? [])];
    return [{ path: formatPath([...path, "type"]), message: `Unknown job type "${typeName}". Known types: ${known.join(", ")}.` }];
  }
  const params = type.parameters.safeParse(parameters);
  if (!params.success) return validationError(params.error, [...path, "parameters"]).details!;
  return (type.check?.(params.data, settings) ?? []).map((d) => ({ ...d, path: formatPath([...path, d.path]) }));
}
