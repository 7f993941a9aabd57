-- Leadpool's core schema: pools, reps, leads and the append-only history of every lead change.
-- Times are always written by the services from their (injectable) clock, never by now().

CREATE TABLE pools (
    id                  text PRIMARY KEY,
    display_name        text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('open', 'segmented', 'tiered', 'timed')),
    -- A claimed lead not contacted within this many seconds returns to the pool.
    contact_sla_seconds integer NOT NULL DEFAULT 7200 CHECK (contact_sla_seconds > 0),
    -- Routing sends a lead to the pool with the highest min_score not above the lead's score.
    min_score           integer NOT NULL DEFAULT 0 CHECK (min_score BETWEEN 0 AND 100),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE TABLE reps (
    id                text PRIMARY KEY,
    display_name      text NOT NULL,
    team              text NOT NULL DEFAULT '',
    role              text NOT NULL CHECK (role IN ('sdr', 'ae', 'manager')),
    active            boolean NOT NULL DEFAULT true,
    -- Claims allowed in any rolling 24 hours; NULL means the claim service's default.
    daily_claim_limit integer CHECK (daily_claim_limit > 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE leads (
    id               uuid PRIMARY KEY,
    -- Chosen by the submitter; a retry with the same key returns this lead.
    idempotency_key  text NOT NULL UNIQUE,
    -- SHA-256 of the submitted lead, to tell a retry from a different lead reusing the key.
    request_hash     bytea NOT NULL,
    state            text NOT NULL CHECK (state IN ('received', 'rejected', 'scheduled', 'available',
                         'claimed', 'assigned', 'contacted', 'closed', 'escalated', 'nurture', 'archived')),
    email            text NOT NULL DEFAULT '',
    contact_name     text NOT NULL DEFAULT '',
    company          text NOT NULL DEFAULT '',
    company_domain   text NOT NULL DEFAULT '',
    country          text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    score            integer NOT NULL CHECK (score BETWEEN 0 AND 100),
    priority         integer NOT NULL,
    source           text NOT NULL DEFAULT '',
    region           text NOT NULL DEFAULT '',
    product          text NOT NULL DEFAULT '',
    industry         text NOT NULL DEFAULT '',
    attributes       jsonb NOT NULL DEFAULT '{}',
    pool_id          text REFERENCES pools (id),
    owner_rep_id     text REFERENCES reps (id),
    rejection_reason text,
    received_at      timestamptz NOT NULL,
    -- When the lead first became available in its current pool; aging counts from here.
    pooled_at        timestamptz,
    claimed_at       timestamptz,
    contact_due_at   timestamptz,
    contacted_at     timestamptz,
    outcome          text CHECK (outcome IN ('opportunity', 'customer', 'lost')),
    deal_size_minor  bigint NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL,
    -- Invariants the services rely on; a bug that breaks one fails loudly instead of silently.
    CONSTRAINT available_leads_are_pooled_and_unowned
        CHECK (state <> 'available' OR (pool_id IS NOT NULL AND owner_rep_id IS NULL)),
    CONSTRAINT worked_leads_are_owned
        CHECK (state NOT IN ('claimed', 'assigned', 'contacted') OR owner_rep_id IS NOT NULL),
    CONSTRAINT claimed_leads_have_a_deadline
        CHECK (state <> 'claimed' OR contact_due_at IS NOT NULL)
);

-- Browsing and ClaimNext: one index per sort order, holding only available leads.
CREATE INDEX leads_available_by_priority ON leads (pool_id, priority DESC, pooled_at, id)
    WHERE state = 'available';
CREATE INDEX leads_available_by_age ON leads (pool_id, pooled_at, id)
    WHERE state = 'available';
CREATE INDEX leads_available_by_score ON leads (pool_id, score DESC, pooled_at, id)
    WHERE state = 'available';
-- SLA expiry scans claimed leads by deadline.
CREATE INDEX leads_claimed_by_deadline ON leads (contact_due_at) WHERE state = 'claimed';
-- Intake's retry loop finds leads still waiting for routing.
CREATE INDEX leads_waiting_for_routing ON leads (received_at) WHERE state = 'received';
CREATE INDEX leads_by_owner ON leads (owner_rep_id) WHERE owner_rep_id IS NOT NULL;

-- Every state change of a lead, written in the same statement as the change itself.
CREATE TABLE lead_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     uuid NOT NULL REFERENCES leads (id),
    from_state  text,
    to_state    text NOT NULL,
    -- Who acted: reps/{id}, services/{name}.
    actor       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    -- The lead's pool after the change.
    pool_id     text,
    -- The rep the change concerns: who claimed, released, contacted, or lost it to the SLA.
    rep_id      text,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX lead_events_by_lead ON lead_events (lead_id, id);
CREATE INDEX lead_events_by_rep ON lead_events (rep_id, occurred_at) WHERE rep_id IS NOT NULL;

CREATE FUNCTION lead_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lead_events is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER lead_events_append_only BEFORE UPDATE OR DELETE ON lead_events
    FOR EACH ROW EXECUTE FUNCTION lead_events_are_append_only();

-- One row per job run. A scheduled slot has exactly one row: the unique index makes a second
-- replica's attempt wait for, then lose to, the first; the row commits with the job's effect.
CREATE TABLE job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text NOT NULL,
    -- The slot a scheduled run covers; for a manual run, the time it ran as of.
    slot_start  timestamptz NOT NULL,
    started_at  timestamptz NOT NULL,
    affected    bigint NOT NULL DEFAULT 0,
    -- 'schedule' for slots the scheduler ran itself, 'manual' for RunJob.
    trigger     text NOT NULL CHECK (trigger IN ('schedule', 'manual'))
);
CREATE UNIQUE INDEX job_runs_one_per_slot ON job_runs (job, slot_start) WHERE trigger = 'schedule';
CREATE INDEX job_runs_latest ON job_runs (job, id DESC);
