import { readSettings, type UsageLimits } from "../config";
import {
  deleteRecurringJob as deleteRow,
  getRecurringJob,
  insertRecurringJob,
  lastOccurrence,
  updateRecurringJob as updateRow,
  type RecurringJobChange,
  type RecurringJobRow,
} from "../db/recurring-jobs";
import type { JobRow } from "../db/schema";
import { ApiError, notFound } from "../http/errors";
import { resolveRegisteredTypes } from "../http-types/resolve";
import { keepMaskedSecrets, sealJobParameters } from "../jobs/job-secrets";
import { newId } from "../lib/ids";
import { newJobRow, priorityRank } from "../model/job";
import type { RecurringJobPatch, RecurringJobRequest } from "../model/recurring";
import { checkTypeAndParameters } from "../services/create-jobs";
import { listLiveJobs } from "../scheduler/client";
import { checkCronInterval, ensureQueueRoom, ensureRecurringRoom } from "../services/usage-limits";
import { syncRecurringBestEffort } from "./client";
import { createOccurrences, occurrenceRows } from "./occurrences";
import { Schedule } from "./schedule";

/** How many upcoming fire times GET /jobs/recurring/{id} shows. */
export const NEXT_RUNS_SHOWN = 5;

/** `limits`: those binding the caller (see usage-limits), null for none. */
export async function createRecurringJob(env: Env, request: RecurringJobRequest, limits: UsageLimits | null, now = Date.now()): Promise<RecurringJobRow> {
  await checkJob(env, request.type, request.parameters);
  checkCronInterval(request.cronExpression, limits);
  await ensureRecurringRoom(env, limits);
  await ensureQueueRoom(env, [request.queue], limits);
  const row: RecurringJobRow = {
    id: newId("rec", now),
    type: request.type,
    name: request.name ?? request.type,
    cronExpression: request.cronExpression,
    timezone: request.timezone,
    parameters: JSON.stringify(await sealJobParameters(env, request.type, request.parameters)),
    queue: request.queue,
    priority: priorityRank(request.priority),
    maxRetries: request.maxRetries,
    timeoutMs: request.timeoutSeconds == null ? null : request.timeoutSeconds * 1000,
    overlapPolicy: request.overlapPolicy,
    missedRunPolicy: request.missedRunPolicy,
    enabled: request.enabled,
    nextRunAt: request.enabled ? new Schedule(request.cronExpression, request.timezone).next(now) : null,
    createdAt: now,
    updatedAt: now,
  };
  await insertRecurringJob(env, row);
  await syncRecurringBestEffort(env, row.id);
  return row;
}

/**
 * Applies a change. A new cron expression or time zone, or enabling a disabled job, schedules
 * from now (slots before now are not caught up); other changes keep the next slot.
 */
export async function updateRecurringJob(env: Env, id: string, patch: RecurringJobPatch, limits: UsageLimits | null, now = Date.now()): Promise<RecurringJobRow> {
  const current = await getRecurringJob(env, id);
  if (!current) throw notFound("Recurring job");
  if (patch.parameters) await checkJob(env, current.type, patch.parameters);
  if (patch.cronExpression != null) checkCronInterval(patch.cronExpression, limits);
  if (patch.queue != null) await ensureQueueRoom(env, [patch.queue], limits);
  const cronExpression = patch.cronExpression ?? current.cronExpression;
  const timezone = patch.timezone ?? current.timezone;
  const enabled = patch.enabled ?? current.enabled;
  const change: RecurringJobChange = {
    ...(patch.name != null ? { name: patch.name } : {}),
    ...(patch.parameters
      ? { parameters: JSON.stringify(await sealJobParameters(env, current.type, keepMaskedSecrets(current.type, patch.parameters, current.parameters))) }
      : {}),
    ...(patch.queue != null ? { queue: patch.queue } : {}),
    ...(patch.priority != null ? { priority: priorityRank(patch.priority) } : {}),
    ...(patch.maxRetries != null ? { maxRetries: patch.maxRetries } : {}),
    ...(patch.timeoutSeconds !== undefined ? { timeoutMs: patch.timeoutSeconds == null ? null : patch.timeoutSeconds * 1000 } : {}),
    ...(patch.overlapPolicy ? { overlapPolicy: patch.overlapPolicy } : {}),
    ...(patch.missedRunPolicy ? { missedRunPolicy: patch.missedRunPolicy } : {}),
    cronExpression,
    timezone,
    enabled,
    updatedAt: now,
  };
  const reschedule = cronExpression !== current.cronExpression || timezone !== current.timezone || (enabled && !current.enabled);
  if (!enabled) change.nextRunAt = null;
  else if (reschedule) {
    const next = new Schedule(cronExpression, timezone).next(now);
    if (next == null) throw new ApiError(400, "validation_error", "Invalid request: cronExpression: never fires in this time zone", [{ path: "cronExpression", message: "never fires" }]);
    change.nextRunAt = next;
  }
  const updated = await updateRow(env, id, change);
  if (!updated) throw notFound("Recurring job");
  await syncRecurringBestEffort(env, id);
  return updated;
}

export async function setRecurringEnabled(env: Env, id: string, enabled: boolean, now = Date.now()): Promise<RecurringJobRow> {
  return updateRecurringJob(env, id, { enabled }, null, now);
}

/** Deletes the definition; runs already created stay, as ordinary jobs with their history. */
export async function deleteRecurringJob(env: Env, id: string): Promise<void> {
  if (!(await deleteRow(env, id))) throw notFound("Recurring job");
  await syncRecurringBestEffort(env, id);
}

/** One run now, outside the schedule (no slot, so it never takes a scheduled run's place). */
export async function triggerRecurringJob(env: Env, id: string, now = Date.now()): Promise<JobRow> {
  const def = await getRecurringJob(env, id);
  if (!def) throw notFound("Recurring job");
  const registered = await resolveRegisteredTypes(env, [def.type]);
  const rows = occurrenceRows(def, [null], now, registered);
  await createOccurrences(env, rows, registered);
  return newJobRow(rows[0], now);
}

export async function getRecurringJobDetails(env: Env, id: string) {
  const def = await getRecurringJob(env, id);
  if (!def) return null;
  const [archived, live] = await Promise.all([lastOccurrence(env, id), listLiveJobs(env, def.queue, { recurringId: id }, 1)]);
  // The newest run is live while it is pending or running (or not yet archived), else archived.
  const candidates = [live.rows[0], archived].filter((r): r is JobRow => !!r);
  const lastRun = candidates.sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0))[0];
  return { def, lastRun, nextRuns: upcomingRuns(def) };
}

/** The next fire times: the pending slot, then the ones after it. None while disabled. */
export function upcomingRuns(def: RecurringJobRow, count = NEXT_RUNS_SHOWN): number[] {
  if (!def.enabled || def.nextRunAt == null) return [];
  return [def.nextRunAt, ...new Schedule(def.cronExpression, def.timezone).upcoming(def.nextRunAt, count - 1)];
}

/** As for a one-off job: a registered HTTP type's parameters are checked against its JSON Schema. */
async function checkJob(env: Env, type: string, parameters: unknown) {
  const details = checkTypeAndParameters(type, parameters, readSettings(env), [], await resolveRegisteredTypes(env, [type]));
  if (details.length) throw new ApiError(400, "validation_error", `Invalid request: ${details[0].path}: ${details[0].message}`, details);
}
