-- Whether a queue name is in use, and the list of names in use (for the queue limit), are index
-- seeks on every table that names queues.
CREATE INDEX recurring_jobs_queue ON recurring_jobs (queue);
