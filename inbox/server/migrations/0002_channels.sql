-- Team mode, channels: the server processes that hold leases, settings of the server jobs, and
-- what the jobs keep between runs. Written by inbox/server/{leases,channel_store,jobs}.py.
--
-- Lease rules (account_leases, job_leases from 0001): a process takes a lease that is free or
-- expired (bumping epoch), renews it before it expires, and checks (holder, epoch, expires_at >
-- now()) with SELECT ... FOR KEY SHARE inside every transaction that writes for that account or
-- job, so a process that lost its lease (paused, partitioned) has its next write refused; a
-- takeover locks the expired row FOR UPDATE SKIP LOCKED first, so it never overlaps a write in
-- progress.

-- Live server processes, so each takes a fair share of the channel accounts.
CREATE TABLE lease_holders (
    holder text PRIMARY KEY,  -- "host:pid:random", one per process run
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX account_leases_holder ON account_leases(holder);

-- Server-wide settings edited by admins: SLA policies and triage rules (TOML text, as in the
-- desktop's settings table).
CREATE TABLE server_settings (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Alerts raised by the server jobs (crisis bursts), acknowledged by a team lead.
CREATE TABLE alerts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    acknowledged_by text,
    acknowledged_at timestamptz
);
CREATE INDEX alerts_kind_at ON alerts(kind, at);

-- The customer messages not scored yet (language and sentiment), found without a scan.
CREATE INDEX messages_unscored ON messages(id) WHERE sentiment IS NULL AND direction = 'in' AND NOT private;
