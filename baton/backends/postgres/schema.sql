-- baton's PostgreSQL schema as it stands after every migration: the one place to read it.
-- A new migration changes this file too; tests/postgres/test_schema.py proves the two agree.
-- Times are seconds since the epoch (double precision), always taken from the database clock
-- (baton_now), never from a worker's.

CREATE FUNCTION baton_now() RETURNS double precision
    LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT extract(epoch FROM now())::double precision';

-- A step event's data with its duration (seconds since the step started, by this clock).
CREATE FUNCTION baton_step_data(data text, started_at double precision) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN started_at IS NULL THEN data
                ELSE jsonb_set(data::jsonb, '{duration}',
                               to_jsonb(round((baton_now() - started_at)::numeric, 6)))::text
           END
    $$;

CREATE TABLE baton_jobs (
    id               text PRIMARY KEY,
    pipeline         text NOT NULL,
    queue            text NOT NULL,
    tenant           text NOT NULL,
    args             text NOT NULL,
    status           text NOT NULL CHECK (status IN
                         ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'expired')),
    priority         integer NOT NULL DEFAULT 0,
    run_at           double precision NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    created_at       double precision NOT NULL,
    idempotency_key  text,
    parent_id        text,
    parent_key       text,
    parent_index     integer,
    progress         double precision NOT NULL DEFAULT 0,
    progress_message text,
    current_step     text,
    result           text,
    error            text,
    callback_url     text,
    started_at       double precision,
    finished_at      double precision,
    expires_at       double precision,
    deadline_at      double precision,
    timeout          double precision,
    max_crashes      integer NOT NULL DEFAULT 3,
    lease_owner      text,
    lease_token      bigint NOT NULL DEFAULT 0,
    lease_expires    double precision,
    woken            integer NOT NULL DEFAULT 0,
    waiting_for      integer NOT NULL DEFAULT 0,
    crash_step       text,
    crash_count      integer NOT NULL DEFAULT 0,
    event_seq        integer NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

CREATE UNIQUE INDEX baton_jobs_idem ON baton_jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX baton_jobs_due ON baton_jobs (queue, priority DESC, run_at, id)
    WHERE status = 'queued';
CREATE INDEX baton_jobs_expiring ON baton_jobs (queue, expires_at)
    WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX baton_jobs_deadlines ON baton_jobs (queue, deadline_at)
    WHERE status = 'queued' AND deadline_at IS NOT NULL;
CREATE INDEX baton_jobs_leases ON baton_jobs (queue, lease_expires)
    WHERE status = 'running';
CREATE INDEX baton_jobs_parent ON baton_jobs (parent_id, parent_key, parent_index)
    WHERE parent_id IS NOT NULL;
CREATE INDEX baton_jobs_queue_status ON baton_jobs (queue, status);

CREATE TABLE baton_steps (
    job_id      text NOT NULL,
    key         text NOT NULL,
    status      text NOT NULL,
    result      text,
    error       text,
    attempts    integer NOT NULL DEFAULT 0,
    worker      text,
    started_at  double precision,
    finished_at double precision,
    PRIMARY KEY (job_id, key)
);

CREATE TABLE baton_events (
    job_id text NOT NULL,
    seq    integer NOT NULL,
    type   text NOT NULL,
    at     double precision NOT NULL,
    data   text NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE baton_permits (
    name   text NOT NULL,
    key    text NOT NULL,
    job_id text NOT NULL,
    token  bigint NOT NULL,
    PRIMARY KEY (name, key, job_id)
);

CREATE TABLE baton_buckets (
    name         text PRIMARY KEY,
    tokens       double precision NOT NULL,
    updated      double precision NOT NULL,
    paused_until double precision NOT NULL DEFAULT 0
);
