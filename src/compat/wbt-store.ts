import { z } from "zod";
import type { NewJob } from "../db/jobs";
import type { WbtRecord } from "./wbt-model";

const RecordRow = z.object({ business_id: z.string(), job_type: z.number(), description: z.string().nullable(), configuration: z.string() });
const toRecord = (r: z.infer<typeof RecordRow>): WbtRecord => ({ businessId: r.business_id, jobType: r.job_type, description: r.description, configuration: r.configuration });

export function insertRecordStatement(env: Env, job: NewJob, record: WbtRecord): D1PreparedStatement {
  return env.DB.prepare(`INSERT INTO wbt_jobs (job_id, business_id, job_type, description, configuration, created_at) VALUES (?, ?, ?, ?, ?, ?)`).bind(
    job.id,
    record.businessId,
    record.jobType,
    record.description,
    record.configuration,
    job.createdAt,
  );
}

export async function getRecord(env: Env, jobId: string): Promise<WbtRecord | null> {
  const row = await env.DB.prepare(`SELECT business_id, job_type, description, configuration FROM wbt_jobs WHERE job_id = ?`).bind(jobId).first();
  return row ? toRecord(RecordRow.parse(row)) : null;
}

/** The most recently created job with this business id. */
export async function latestJobIdForBusiness(env: Env, businessId: string): Promise<{ jobId: string; record: WbtRecord } | null> {
  const row = await env.DB.prepare(
    `SELECT job_id, business_id, job_type, description, configuration FROM wbt_jobs WHERE business_id = ? ORDER BY created_at DESC, job_id DESC LIMIT 1`,
  )
    .bind(businessId)
    .first();
  if (!row) return null;
  return { jobId: z.string().parse(row.job_id), record: toRecord(RecordRow.parse(row)) };
}
