-- Before the fix, an attempt that ended in a retry (or a lease that expired into one) while a cancel
-- was requested put the job back to pending with the request still set, where no claim would ever
-- take it. Those jobs were cancelled by their users: end them so. New ones can no longer arise.
UPDATE jobs
SET status = 'cancelled', cancel_requested = 0, lease_until = NULL, error = 'Cancelled while running.',
    completed_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
WHERE status = 'pending' AND cancel_requested = 1;
