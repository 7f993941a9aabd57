-- The scheduler (S1–S6) and pool health (M1–M7): depth history, backpressure pauses, claim-quota
-- shortfalls, and the indexes its set-based jobs and health queries scan.

-- Pool depth, one row per pool per snapshot slot. No unique key on purpose: the exactly-once
-- guarantee comes from job_runs, and a duplicate here would show that it failed.
CREATE TABLE pool_snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pool_id     text NOT NULL REFERENCES pools (id),
    taken_at    timestamptz NOT NULL,
    available   bigint NOT NULL,
    scheduled   bigint NOT NULL,
    escalated   bigint NOT NULL
);
CREATE INDEX pool_snapshots_by_pool ON pool_snapshots (pool_id, taken_at);

-- Backpressure (S6): while a pool is critical, new leads from its low-priority sources are held
-- (state `scheduled`) until the pool is below its warning threshold again.
CREATE TABLE pool_pauses (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pool_id     text NOT NULL REFERENCES pools (id),
    sources     text[] NOT NULL,
    paused_at   timestamptz NOT NULL,
    resumed_at  timestamptz
);
CREATE UNIQUE INDEX pool_pauses_one_open ON pool_pauses (pool_id) WHERE resumed_at IS NULL;

-- Claim quotas (S6): reps who claimed fewer leads than the minimum on a (team-local) day.
CREATE TABLE quota_shortfalls (
    rep_id      text NOT NULL REFERENCES reps (id),
    day         date NOT NULL,
    claims      integer NOT NULL,
    minimum     integer NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (rep_id, day)
);

-- The jobs walk each pool's leads in age order, a batch per statement; with these partial
-- indexes (and leads_available_by_age for escalation and boosts) every batch is an ordered
-- index scan that stops after the batch.
CREATE INDEX leads_scheduled_by_received ON leads (pool_id, received_at, id) WHERE state = 'scheduled';
CREATE INDEX leads_unclaimed_by_received ON leads (pool_id, received_at, id)
    WHERE state IN ('available', 'escalated');
CREATE INDEX leads_escalated_by_age ON leads (pool_id, pooled_at, id) WHERE state = 'escalated';
-- Health: claims and arrivals per pool over a window.
CREATE INDEX lead_events_by_pool ON lead_events (pool_id, occurred_at) WHERE pool_id IS NOT NULL;
