CREATE TABLE IF NOT EXISTS baton_jobs (
    id               TEXT PRIMARY KEY,
    pipeline         TEXT NOT NULL,
    queue            TEXT NOT NULL,
    tenant           TEXT NOT NULL,
    args             TEXT NOT NULL,
    status           TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    run_at           REAL NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    idempotency_key  TEXT,
    parent_id        TEXT,
    parent_key       TEXT,
    parent_index     INTEGER,
    progress         REAL NOT NULL DEFAULT 0,
    progress_message TEXT,
    current_step     TEXT,
    result           TEXT,
    error            TEXT,
    callback_url     TEXT,
    started_at       REAL,
    finished_at      REAL,
    expires_at       REAL,
    deadline_at      REAL,
    timeout          REAL,
    max_crashes      INTEGER NOT NULL DEFAULT 3,
    lease_owner      TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires    REAL,
    woken            INTEGER NOT NULL DEFAULT 0,
    waiting_for      INTEGER NOT NULL DEFAULT 0,
    crash_step       TEXT,
    crash_count      INTEGER NOT NULL DEFAULT 0,
    event_seq        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS baton_jobs_idem ON baton_jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS baton_jobs_due ON baton_jobs (queue, priority DESC, run_at, id)
    WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS baton_jobs_next ON baton_jobs (queue, run_at)
    WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS baton_jobs_expiring ON baton_jobs (queue, expires_at)
    WHERE status = 'queued' AND expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS baton_jobs_deadlines ON baton_jobs (queue, deadline_at)
    WHERE status = 'queued' AND deadline_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS baton_jobs_leases ON baton_jobs (queue, lease_expires)
    WHERE status = 'running';
CREATE INDEX IF NOT EXISTS baton_jobs_parent ON baton_jobs (parent_id, parent_key, parent_index)
    WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS baton_jobs_queue_status ON baton_jobs (queue, status);

CREATE TABLE IF NOT EXISTS baton_steps (
    job_id      TEXT NOT NULL,
    key         TEXT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    worker      TEXT,
    started_at  REAL,
    finished_at REAL,
    PRIMARY KEY (job_id, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS baton_events (
    job_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    at     REAL NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS baton_permits (
    name   TEXT NOT NULL,
    key    TEXT NOT NULL,
    job_id TEXT NOT NULL,
    token  INTEGER NOT NULL,
    PRIMARY KEY (name, key, job_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS baton_buckets (
    name         TEXT PRIMARY KEY,
    tokens       REAL NOT NULL,
    updated      REAL NOT NULL,
    paused_until REAL NOT NULL DEFAULT 0
);
