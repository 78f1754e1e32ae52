-- When the consumer handed the attempt to its handler. An attempt whose lease expires with this
-- still NULL lost its consumer between the claim and the handler's start: it never ran, so its
-- expiry gives the job back without using up a retry.
ALTER TABLE job_attempts ADD COLUMN handler_started_at INTEGER;
