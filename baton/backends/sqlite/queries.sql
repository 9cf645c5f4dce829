-- SQL of the SQLite backend, one named query each; loaded by baton.backends.sqlfile.
-- Queue lists are passed as a JSON array and expanded with json_each, so no SQL is built at run time.

-- name: insert_job
INSERT INTO baton_jobs (id, pipeline, queue, tenant, args, status, priority, run_at, created_at,
                        idempotency_key, parent_id, parent_key, parent_index, callback_url,
                        expires_at, timeout, max_crashes, event_seq)
VALUES (:id, :pipeline, :queue, :tenant, :args, 'queued', :priority, :run_at, :now,
        :idempotency_key, :parent_id, :parent_key, :parent_index, :callback_url,
        :expires_at, :timeout, :max_crashes, 1)
ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;

-- name: job_by_idem
SELECT id FROM baton_jobs WHERE tenant = :tenant AND idempotency_key = :idempotency_key;

-- name: bump_seq
UPDATE baton_jobs SET event_seq = event_seq + :n WHERE id = :job_id RETURNING event_seq;

-- name: insert_event
INSERT INTO baton_events (job_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?);

-- name: due
-- One queue at a time, so the partial index baton_jobs_due serves it without a sort.
SELECT id, priority, run_at FROM baton_jobs INDEXED BY baton_jobs_due
WHERE status = 'queued' AND queue = :queue AND run_at <= :now
ORDER BY priority DESC, run_at, id
LIMIT :n;

-- name: unrunnable
-- Queued jobs that must end without running: expired, or past their deadline (few: both
-- columns are NULL for most jobs, and partial indexes hold only the others).
SELECT {job} FROM baton_jobs INDEXED BY baton_jobs_expiring
WHERE status = 'queued' AND queue = :queue AND expires_at < :now AND started_at IS NULL
UNION ALL
SELECT {job} FROM baton_jobs INDEXED BY baton_jobs_deadlines
WHERE status = 'queued' AND queue = :queue AND deadline_at < :now
  AND (expires_at IS NULL OR expires_at >= :now OR started_at IS NOT NULL);

-- name: take_batch
UPDATE baton_jobs
SET status = 'running', lease_owner = :owner, lease_token = lease_token + 1,
    event_seq = event_seq + 1,
    lease_expires = :lease_expires, attempts = attempts + (1 - woken), woken = 0,
    started_at = COALESCE(started_at, :now),
    deadline_at = COALESCE(deadline_at, CASE WHEN timeout IS NULL THEN NULL ELSE :now + timeout END)
WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING {job}, event_seq;

-- name: expired_leases
SELECT {job} FROM baton_jobs
WHERE status = 'running' AND lease_expires < :now AND queue = :queue
ORDER BY lease_expires
LIMIT :n;

-- name: take
UPDATE baton_jobs
SET status = 'running', lease_owner = :owner, lease_token = lease_token + 1,
    event_seq = event_seq + 1,
    lease_expires = :lease_expires, attempts = attempts + (1 - woken), woken = 0,
    started_at = COALESCE(started_at, :now),
    deadline_at = COALESCE(deadline_at, CASE WHEN timeout IS NULL THEN NULL ELSE :now + timeout END),
    crash_step = :crash_step, crash_count = :crash_count
WHERE id = :id
RETURNING {job}, event_seq;

-- name: end_job
UPDATE baton_jobs
SET status = :status, error = COALESCE(:error, error), result = COALESCE(:result, result),
    finished_at = :now, lease_owner = NULL, lease_expires = NULL,
    progress = CASE WHEN :status = 'succeeded' THEN 1.0 ELSE progress END
WHERE id = :id
RETURNING parent_id, tenant, queue, priority, callback_url;

-- name: end_leased
UPDATE baton_jobs
SET status = :status, error = :error, result = :result, finished_at = :now,
    lease_owner = NULL, lease_expires = NULL, current_step = NULL,
    progress = CASE WHEN :status = 'succeeded' THEN 1.0 ELSE progress END,
    event_seq = event_seq + :events
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING parent_id, event_seq, tenant, queue, priority, callback_url;

-- name: requeue_leased
UPDATE baton_jobs
SET status = :status, run_at = :run_at, woken = :woken, waiting_for = :waiting_for,
    lease_owner = NULL, lease_expires = NULL, current_step = NULL
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING id;

-- name: check_lease
SELECT 1 FROM baton_jobs WHERE id = :id AND lease_token = :token AND status = 'running';

-- name: wake_parent
UPDATE baton_jobs
SET waiting_for = waiting_for - 1,
    status = CASE WHEN waiting_for <= 1 THEN 'queued' ELSE status END,
    run_at = CASE WHEN waiting_for <= 1 THEN :now ELSE run_at END,
    woken = CASE WHEN waiting_for <= 1 THEN 1 ELSE woken END
WHERE id = :id AND status = 'waiting'
RETURNING status;

-- name: open_children
SELECT count(*) FROM baton_jobs
WHERE parent_id = :id AND parent_key = :key AND status NOT IN ('succeeded', 'failed', 'cancelled', 'expired');

-- name: children
SELECT {job} FROM baton_jobs WHERE parent_id = :id AND parent_key = :key ORDER BY parent_index;

-- name: unfinished_children
SELECT id FROM baton_jobs WHERE parent_id = :id AND status IN ('queued', 'running', 'waiting');

-- name: failed_children
SELECT id FROM baton_jobs WHERE parent_id = :id AND status IN ('failed', 'cancelled', 'expired');

-- name: renew
-- Only the leases the worker still runs: a job its worker abandoned (an internal error) must
-- lapse and be recovered, not be kept alive by the heartbeat forever.
UPDATE baton_jobs SET lease_expires = :lease_expires
WHERE lease_owner = :owner AND status = 'running' AND id IN (SELECT value FROM json_each(:ids));

-- name: lease_state
SELECT id, lease_token, status FROM baton_jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: start_step
UPDATE baton_jobs SET current_step = :key, event_seq = event_seq + 1
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING event_seq;

-- name: upsert_step
INSERT INTO baton_steps (job_id, key, status, result, error, attempts, worker, started_at, finished_at)
VALUES (:job_id, :key, :status, :result, :error, :attempts, :worker, :started_at, :finished_at)
ON CONFLICT (job_id, key) DO UPDATE SET
    status = excluded.status, result = excluded.result, error = excluded.error,
    attempts = excluded.attempts, worker = excluded.worker,
    started_at = COALESCE(baton_steps.started_at, excluded.started_at), finished_at = excluded.finished_at
WHERE baton_steps.status != 'succeeded';

-- name: steps
SELECT * FROM baton_steps WHERE job_id = :id ORDER BY CAST(key AS INTEGER), finished_at;

-- name: drop_failed_steps
DELETE FROM baton_steps WHERE job_id = :id AND status != 'succeeded';

-- name: set_progress
UPDATE baton_jobs SET progress = :progress, progress_message = :message, event_seq = event_seq + 1
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING event_seq;

-- name: get_job
SELECT {job} FROM baton_jobs WHERE id = :id;

-- name: requeue_ended
UPDATE baton_jobs
SET status = 'queued', run_at = :now, error = NULL, finished_at = NULL, woken = 0,
    crash_step = NULL, crash_count = 0, deadline_at = NULL, lease_owner = NULL, lease_expires = NULL
WHERE id = :id AND status IN ('failed', 'cancelled', 'expired');

-- name: events
SELECT * FROM baton_events WHERE job_id = :id AND seq > :after ORDER BY seq LIMIT :limit;

-- name: purge_permits
DELETE FROM baton_permits
WHERE name = :name AND key = :key AND NOT EXISTS (
    SELECT 1 FROM baton_jobs j
    WHERE j.id = baton_permits.job_id AND j.lease_token = baton_permits.token
      AND j.status = 'running' AND j.lease_expires > :now);

-- name: count_permits
SELECT count(*) FROM baton_permits WHERE name = :name AND key = :key;

-- name: has_permit
SELECT 1 FROM baton_permits WHERE name = :name AND key = :key AND job_id = :job_id AND token = :token;

-- name: insert_permit
INSERT OR REPLACE INTO baton_permits (name, key, job_id, token) VALUES (:name, :key, :job_id, :token);

-- name: delete_permit
-- Only the caller's own slot: a stale lease must not free the slot its job's new owner holds.
DELETE FROM baton_permits WHERE name = :name AND key = :key AND job_id = :job_id AND token = :token;

-- name: get_bucket
SELECT tokens, updated, paused_until FROM baton_buckets WHERE name = :name;

-- name: put_bucket
INSERT INTO baton_buckets (name, tokens, updated, paused_until) VALUES (:name, :tokens, :updated, :paused_until)
ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated,
    paused_until = excluded.paused_until;

-- name: pause_bucket
-- The bucket refills from the end of the pause (updated = until), so no burst follows it.
INSERT INTO baton_buckets (name, tokens, updated, paused_until) VALUES (:name, 0, :until, :until)
ON CONFLICT (name) DO UPDATE SET tokens = 0,
    updated = max(baton_buckets.paused_until, :until),
    paused_until = max(baton_buckets.paused_until, :until);

-- name: next_due
SELECT min(t) FROM (
    SELECT min(run_at) AS t FROM baton_jobs WHERE status = 'queued' AND queue = :queue
    UNION ALL
    SELECT min(lease_expires) FROM baton_jobs WHERE status = 'running' AND queue = :queue);

-- name: pending
SELECT count(*) FROM baton_jobs INDEXED BY baton_jobs_queue_status
WHERE queue = :queue AND status IN ('queued', 'running', 'waiting');

-- name: queue_stats
SELECT queue,
       sum(status = 'queued') AS queued,
       sum(status = 'running') AS running,
       sum(status = 'waiting') AS waiting,
       sum(status = 'failed') AS failed,
       sum(status = 'succeeded') AS succeeded,
       sum(status = 'cancelled') AS cancelled,
       sum(status = 'expired') AS expired,
       min(CASE WHEN status = 'queued' AND run_at <= :now THEN run_at END) AS oldest
FROM baton_jobs
WHERE :tenant IS NULL OR tenant = :tenant
GROUP BY queue ORDER BY queue;
