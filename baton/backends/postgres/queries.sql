-- SQL of the PostgreSQL backend, one named query each; loaded by baton.backends.sqlfile.
-- Parameters are psycopg's %(name)s; lists travel as arrays. Every time is baton_now(), the
-- database's clock. {job} is JobRecord's column list, {job_j} the same qualified by "j.".

-- name: insert_job
-- One statement: the job, its first event, and the wake-up that idle workers hear when this
-- commits (for a delayed job too, so they learn when it falls due). No row back: the key (or this id) exists, see job_by_idem.
WITH ins AS (
    INSERT INTO baton_jobs (id, pipeline, queue, tenant, args, status, priority, run_at, created_at,
                            idempotency_key, parent_id, parent_key, parent_index, callback_url,
                            expires_at, timeout, max_crashes, event_seq)
    VALUES (%(id)s, %(pipeline)s, %(queue)s, %(tenant)s, %(args)s, 'queued', %(priority)s,
            baton_now() + %(delay)s, baton_now(), %(idempotency_key)s, %(parent_id)s,
            %(parent_key)s, %(parent_index)s, %(callback_url)s,
            baton_now() + %(expires_in)s, %(timeout)s, %(max_crashes)s, 1)
    ON CONFLICT DO NOTHING  -- the tenant's idempotency key, or this very id sent twice
    RETURNING id),
ev AS (
    INSERT INTO baton_events (job_id, seq, type, at, data)
    SELECT id, 1, 'job.enqueued', baton_now(), %(event)s FROM ins
    RETURNING job_id),
woke AS (
    SELECT pg_notify('baton_work', %(queue)s) FROM ev)
SELECT id, true, (SELECT count(*) FROM woke) FROM ins;

-- name: notify
SELECT pg_notify('baton_work', q) FROM unnest(%(queues)s::text[]) AS q;

-- name: emit
-- Append events to a job's log, numbering them after the job's counter (bumped here).
WITH j AS (
    UPDATE baton_jobs SET event_seq = event_seq + cardinality(%(types)s::text[])
    WHERE id = %(job_id)s
    RETURNING event_seq - cardinality(%(types)s::text[]) AS base)
INSERT INTO baton_events (job_id, seq, type, at, data)
SELECT %(job_id)s, j.base + e.ord, e.type, baton_now(), e.data
FROM j, unnest(%(types)s::text[], %(datas)s::text[]) WITH ORDINALITY AS e(type, data, ord);

-- name: emit_numbered
-- Events whose numbers the caller's own UPDATE already reserved (last = the counter after it).
INSERT INTO baton_events (job_id, seq, type, at, data)
SELECT %(job_id)s, %(last)s - cardinality(%(types)s::text[]) + e.ord, e.type, baton_now(), e.data
FROM unnest(%(types)s::text[], %(datas)s::text[]) WITH ORDINALITY AS e(type, data, ord);

-- name: claim_due
-- Lease the next n due jobs across the queues in one statement: per queue the partial index
-- gives them in order, SKIP LOCKED lets concurrent claimers pass each other.
WITH picked AS (
    SELECT d.id FROM unnest(%(queues)s::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, priority, run_at FROM baton_jobs
        WHERE status = 'queued' AND queue = q.name AND run_at <= baton_now()
          AND (expires_at IS NULL OR expires_at >= baton_now() OR started_at IS NOT NULL)
          AND (deadline_at IS NULL OR deadline_at >= baton_now())
        ORDER BY priority DESC, run_at, id
        LIMIT %(n)s
        FOR UPDATE SKIP LOCKED) AS d
    ORDER BY d.priority DESC, d.run_at, d.id
    LIMIT %(n)s),
taken AS (
    UPDATE baton_jobs j
    SET status = 'running', lease_owner = %(owner)s, lease_token = j.lease_token + 1,
        event_seq = j.event_seq + 1, lease_expires = baton_now() + %(lease_for)s,
        attempts = j.attempts + (1 - j.woken), woken = 0,
        started_at = COALESCE(j.started_at, baton_now()),
        deadline_at = COALESCE(j.deadline_at, baton_now() + j.timeout)
    FROM picked WHERE j.id = picked.id
    RETURNING {job_j}, j.event_seq),
ev AS (
    INSERT INTO baton_events (job_id, seq, type, at, data)
    SELECT id, event_seq, 'job.claimed', baton_now(),
           json_build_object('worker', %(owner)s::text, 'attempt', attempts)::text
    FROM taken),
-- Is there anything the slow path of a claim must look at: lapsed leases, or queued jobs that
-- must end without running (expired, past their deadline)? Cheap: partial indexes only. It
-- rides along as the last column (one row of NULLs when nothing was taken).
stale AS (
    SELECT EXISTS (SELECT 1 FROM baton_jobs WHERE status = 'running'
                     AND queue = ANY(%(queues)s::text[]) AND lease_expires < baton_now())
        OR EXISTS (SELECT 1 FROM baton_jobs WHERE status = 'queued'
                     AND queue = ANY(%(queues)s::text[]) AND expires_at < baton_now()
                     AND started_at IS NULL)
        OR EXISTS (SELECT 1 FROM baton_jobs WHERE status = 'queued'
                     AND queue = ANY(%(queues)s::text[]) AND deadline_at < baton_now())
        AS found)
SELECT taken.*, stale.found FROM stale LEFT JOIN taken ON true;

-- name: expired_leases
SELECT {job}, baton_now() FROM baton_jobs
WHERE status = 'running' AND queue = ANY(%(queues)s::text[]) AND lease_expires < baton_now()
ORDER BY lease_expires
LIMIT %(n)s
FOR UPDATE SKIP LOCKED;

-- name: unrunnable
SELECT {job}, baton_now() FROM baton_jobs
WHERE status = 'queued' AND queue = ANY(%(queues)s::text[])
  AND ((expires_at < baton_now() AND started_at IS NULL) OR deadline_at < baton_now())
LIMIT 1000
FOR UPDATE SKIP LOCKED;

-- name: take
UPDATE baton_jobs
SET status = 'running', lease_owner = %(owner)s, lease_token = lease_token + 1,
    event_seq = event_seq + 1, lease_expires = baton_now() + %(lease_for)s,
    attempts = attempts + (1 - woken), woken = 0,
    started_at = COALESCE(started_at, baton_now()),
    deadline_at = COALESCE(deadline_at, baton_now() + timeout),
    crash_step = %(crash_step)s, crash_count = %(crash_count)s
WHERE id = %(id)s
RETURNING {job}, event_seq;

-- name: end_job
UPDATE baton_jobs
SET status = %(status)s, error = COALESCE(%(error)s, error), finished_at = baton_now(),
    lease_owner = NULL, lease_expires = NULL, event_seq = event_seq + 1,
    progress = CASE WHEN %(status)s = 'succeeded' THEN 1.0 ELSE progress END
WHERE id = %(id)s
RETURNING {job}, event_seq;

-- name: requeue_leased
UPDATE baton_jobs
SET status = %(status)s, run_at = baton_now() + %(delay)s, woken = %(woken)s,
    waiting_for = %(waiting_for)s, lease_owner = NULL, lease_expires = NULL, current_step = NULL
WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
RETURNING queue;

-- name: check_lease
SELECT queue FROM baton_jobs
WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
FOR NO KEY UPDATE;

-- name: wake_parent
UPDATE baton_jobs
SET waiting_for = waiting_for - 1,
    status = CASE WHEN waiting_for <= 1 THEN 'queued' ELSE status END,
    run_at = CASE WHEN waiting_for <= 1 THEN baton_now() ELSE run_at END,
    woken = CASE WHEN waiting_for <= 1 THEN 1 ELSE woken END
WHERE id = %(id)s AND status = 'waiting'
RETURNING status, queue;

-- name: open_children
SELECT count(*) FROM baton_jobs
WHERE parent_id = %(id)s AND parent_key = %(key)s
  AND status NOT IN ('succeeded', 'failed', 'cancelled', 'expired');

-- name: children
SELECT {job} FROM baton_jobs
WHERE parent_id = %(id)s AND parent_key = %(key)s ORDER BY parent_index;

-- name: unfinished_children
SELECT id FROM baton_jobs WHERE parent_id = %(id)s AND status IN ('queued', 'running', 'waiting');

-- name: failed_children
SELECT id FROM baton_jobs WHERE parent_id = %(id)s AND status IN ('failed', 'cancelled', 'expired');

-- name: renew
-- One write per worker per heartbeat for all its leases; returns the ones still ours. Only
-- the leases the worker lists: one it abandoned must lapse and be recovered.
UPDATE baton_jobs j SET lease_expires = baton_now() + %(lease_for)s
FROM unnest(%(ids)s::text[], %(tokens)s::bigint[]) AS l(id, token)
WHERE j.id = l.id AND j.lease_token = l.token AND j.lease_owner = %(owner)s
  AND j.status = 'running'
RETURNING j.id, j.lease_token;

-- name: lease_state
SELECT j.id, j.lease_token FROM baton_jobs j
JOIN unnest(%(ids)s::text[], %(tokens)s::bigint[]) AS l(id, token)
  ON j.id = l.id AND j.lease_token = l.token
WHERE j.status = 'running';

-- name: start_step
-- Fenced by its WHERE; no row back means the lease is stale.
WITH j AS (
    UPDATE baton_jobs SET current_step = %(key)s, event_seq = event_seq + 1
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
    RETURNING id, event_seq)
INSERT INTO baton_events (job_id, seq, type, at, data)
SELECT id, event_seq, 'step.started', baton_now(), %(data)s FROM j
RETURNING seq;

-- name: upsert_step
INSERT INTO baton_steps AS s (job_id, key, status, result, error, attempts, worker,
                              started_at, finished_at)
VALUES (%(job_id)s, %(key)s, %(status)s, %(result)s, %(error)s, %(attempts)s, %(worker)s,
        %(started_at)s, COALESCE(%(finished_at)s, baton_now()))
ON CONFLICT (job_id, key) DO UPDATE SET
    status = excluded.status, result = excluded.result, error = excluded.error,
    attempts = excluded.attempts, worker = excluded.worker,
    started_at = COALESCE(s.started_at, excluded.started_at), finished_at = excluded.finished_at
WHERE s.status != 'succeeded'
RETURNING baton_now() - COALESCE(%(started_at)s, baton_now());

-- name: steps
SELECT job_id, key, status, result, error, attempts, worker, started_at, finished_at
FROM baton_steps WHERE job_id = %(id)s
ORDER BY NULLIF(substring(key FROM '^[0-9]+'), '')::bigint NULLS LAST, finished_at;

-- name: drop_failed_steps
DELETE FROM baton_steps WHERE job_id = %(id)s AND status != 'succeeded';

-- name: set_progress
WITH j AS (
    UPDATE baton_jobs
    SET progress = %(progress)s, progress_message = %(message)s, event_seq = event_seq + 1
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
    RETURNING id, event_seq)
INSERT INTO baton_events (job_id, seq, type, at, data)
SELECT id, event_seq, 'job.progress', baton_now(), %(data)s FROM j
RETURNING seq;

-- name: get_job
SELECT {job} FROM baton_jobs WHERE id = %(id)s;

-- name: lock_job
SELECT {job} FROM baton_jobs WHERE id = %(id)s FOR UPDATE;

-- name: requeue_ended
UPDATE baton_jobs
SET status = 'queued', run_at = baton_now(), error = NULL, finished_at = NULL, woken = 0,
    crash_step = NULL, crash_count = 0, deadline_at = NULL, lease_owner = NULL,
    lease_expires = NULL
WHERE id = %(id)s AND status IN ('failed', 'cancelled', 'expired')
RETURNING queue;

-- name: events
SELECT job_id, seq, type, at, data FROM baton_events
WHERE job_id = %(id)s AND seq > %(after)s ORDER BY seq LIMIT %(limit)s;

-- name: lock_permit
-- Serialises takers of one (name, key) for the transaction, so count-then-insert is exact.
SELECT pg_advisory_xact_lock(hashtextextended('baton.permit:' || %(name)s || ':' || %(key)s, 0));

-- name: has_permit
SELECT 1 FROM baton_permits
WHERE name = %(name)s AND key = %(key)s AND job_id = %(job_id)s AND token = %(token)s;

-- name: purge_permits
-- Slots whose holder's lease ended (settled, lapsed, taken over) free themselves here.
DELETE FROM baton_permits p
WHERE p.name = %(name)s AND p.key = %(key)s AND NOT EXISTS (
    SELECT 1 FROM baton_jobs j
    WHERE j.id = p.job_id AND j.lease_token = p.token
      AND j.status = 'running' AND j.lease_expires > baton_now());

-- name: count_permits
SELECT count(*) FROM baton_permits WHERE name = %(name)s AND key = %(key)s;

-- name: insert_permit
INSERT INTO baton_permits (name, key, job_id, token)
VALUES (%(name)s, %(key)s, %(job_id)s, %(token)s)
ON CONFLICT (name, key, job_id) DO UPDATE SET token = excluded.token;

-- name: delete_permit
-- Only the caller's own slot: a stale lease must not free the slot its job's new owner holds.
DELETE FROM baton_permits
WHERE name = %(name)s AND key = %(key)s AND job_id = %(job_id)s AND token = %(token)s;

-- name: lock_bucket
INSERT INTO baton_buckets (name, tokens, updated, paused_until)
VALUES (%(name)s, %(limit)s, baton_now(), 0)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING tokens, updated, paused_until, baton_now();

-- name: put_bucket
UPDATE baton_buckets SET tokens = %(tokens)s, updated = %(updated)s WHERE name = %(name)s;

-- name: pause_bucket
-- The bucket refills from the end of the pause (updated = until), so no burst follows it.
INSERT INTO baton_buckets (name, tokens, updated, paused_until)
VALUES (%(name)s, 0, baton_now() + %(seconds)s, baton_now() + %(seconds)s)
ON CONFLICT (name) DO UPDATE SET tokens = 0,
    updated = greatest(baton_buckets.paused_until, excluded.paused_until),
    paused_until = greatest(baton_buckets.paused_until, excluded.paused_until);

-- name: next_due
-- Seconds until the next job in the queues may become runnable (due, or a lease lapsing).
SELECT min(t) - baton_now() FROM (
    SELECT (SELECT min(run_at) FROM baton_jobs
            WHERE status = 'queued' AND queue = q) AS t FROM unnest(%(queues)s::text[]) AS q
    UNION ALL
    SELECT (SELECT min(lease_expires) FROM baton_jobs
            WHERE status = 'running' AND queue = q) FROM unnest(%(queues)s::text[]) AS q) AS x;

-- name: pending
SELECT count(*) FROM baton_jobs
WHERE queue = ANY(%(queues)s::text[]) AND status IN ('queued', 'running', 'waiting');

-- name: queue_stats
SELECT queue,
       count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'running') AS running,
       count(*) FILTER (WHERE status = 'waiting') AS waiting,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       baton_now() - min(run_at) FILTER (WHERE status = 'queued' AND run_at <= baton_now()),
       count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status = 'expired') AS expired
FROM baton_jobs
WHERE %(tenant)s::text IS NULL OR tenant = %(tenant)s
GROUP BY queue ORDER BY queue;

-- name: job_by_idem
SELECT id FROM baton_jobs
WHERE (tenant = %(tenant)s AND idempotency_key = %(idempotency_key)s) OR id = %(id)s
ORDER BY id = %(id)s
LIMIT 1;

-- name: end_leased_with_step
-- The hot path of a worker, in one statement: fence (lock the leased row, or find nothing),
-- save the task's step, end the job, log the step's event (when the upsert changed it) and
-- the ending, wake a waiting parent when this was its last open child, and notify for it.
WITH l AS (
    SELECT id FROM baton_jobs
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
    FOR NO KEY UPDATE),
s AS (
    INSERT INTO baton_steps AS s (job_id, key, status, result, error, attempts, worker,
                                  started_at, finished_at)
    SELECT l.id, %(key)s, %(step_status)s, %(step_result)s, %(step_error)s, %(attempts)s,
           %(worker)s, %(started_at)s, COALESCE(%(finished_at)s, baton_now())
    FROM l WHERE %(has_step)s
    ON CONFLICT (job_id, key) DO UPDATE SET
        status = excluded.status, result = excluded.result, error = excluded.error,
        attempts = excluded.attempts, worker = excluded.worker,
        started_at = COALESCE(s.started_at, excluded.started_at),
        finished_at = excluded.finished_at
    WHERE s.status != 'succeeded'
    RETURNING 1),
j AS (
    UPDATE baton_jobs j
    SET status = %(status)s, error = %(error)s, result = %(result)s, finished_at = baton_now(),
        lease_owner = NULL, lease_expires = NULL, current_step = NULL,
        progress = CASE WHEN %(status)s = 'succeeded' THEN 1.0 ELSE j.progress END,
        event_seq = j.event_seq + 1 + (SELECT count(*) FROM s)
    FROM l WHERE j.id = l.id
    RETURNING {job_j}, j.event_seq),
ev AS (
    INSERT INTO baton_events (job_id, seq, type, at, data)
    SELECT j.id, j.event_seq - 1, %(step_type)s, baton_now(),
           baton_step_data(%(step_data)s, %(started_at)s)
    FROM j WHERE EXISTS (SELECT 1 FROM s)
    UNION ALL
    SELECT j.id, j.event_seq, %(end_type)s, baton_now(), %(end_data)s FROM j),
p AS (
    UPDATE baton_jobs SET waiting_for = waiting_for - 1,
        status = CASE WHEN waiting_for <= 1 THEN 'queued' ELSE status END,
        run_at = CASE WHEN waiting_for <= 1 THEN baton_now() ELSE run_at END,
        woken = CASE WHEN waiting_for <= 1 THEN 1 ELSE woken END
    WHERE id = (SELECT parent_id FROM j) AND status = 'waiting'
    RETURNING status, queue),
woke AS (
    SELECT pg_notify('baton_work', queue) FROM p WHERE status = 'queued')
SELECT *, (SELECT count(*) FROM woke) FROM j;

-- name: save_step_fenced
-- save_step in one statement: lock the leased row (or find nothing: LeaseLost), upsert the
-- step unless a succeeded one stands, and log its event only when the upsert changed it.
WITH l AS (
    SELECT id FROM baton_jobs
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
    FOR NO KEY UPDATE),
s AS (
    INSERT INTO baton_steps AS s (job_id, key, status, result, error, attempts, worker,
                                  started_at, finished_at)
    SELECT l.id, %(key)s, %(step_status)s, %(step_result)s, %(step_error)s, %(attempts)s,
           %(worker)s, %(started_at)s, COALESCE(%(finished_at)s, baton_now())
    FROM l
    ON CONFLICT (job_id, key) DO UPDATE SET
        status = excluded.status, result = excluded.result, error = excluded.error,
        attempts = excluded.attempts, worker = excluded.worker,
        started_at = COALESCE(s.started_at, excluded.started_at),
        finished_at = excluded.finished_at
    WHERE s.status != 'succeeded'
    RETURNING 1),
j AS (
    UPDATE baton_jobs j SET event_seq = j.event_seq + 1
    FROM l WHERE j.id = l.id AND EXISTS (SELECT 1 FROM s)
    RETURNING j.id, j.event_seq),
ev AS (
    INSERT INTO baton_events (job_id, seq, type, at, data)
    SELECT j.id, j.event_seq, %(step_type)s, baton_now(),
           baton_step_data(%(step_data)s, %(started_at)s)
    FROM j)
SELECT count(*) FROM l;

-- name: now
SELECT baton_now();
