-- Policy as code: applied policy versions, assignment turn counts, duplicate merges.

-- Every applied version of the routing policy. The newest is in force.
CREATE TABLE policies (
    version     bigint PRIMARY KEY CHECK (version > 0),
    -- The YAML document as applied.
    document    text NOT NULL,
    name        text NOT NULL DEFAULT '',
    applied_by  text NOT NULL,
    applied_at  timestamptz NOT NULL,
    -- What it changed compared with the version before: [{kind, path}].
    changes     jsonb NOT NULL DEFAULT '[]'
);

-- Pools and reps are projections of the policy in force, kept for foreign keys and for the
-- columns SQL needs (contact SLA). Removed from the policy, a pool is retired (its leads stay)
-- and a rep becomes inactive.
ALTER TABLE pools ADD COLUMN retired boolean NOT NULL DEFAULT false;
ALTER TABLE pools ALTER COLUMN min_score DROP NOT NULL;
ALTER TABLE reps DROP COLUMN daily_claim_limit;

-- How many leads each rep received from each assignment rule: whose turn it is next.
-- Shared by every routing replica and kept across restarts.
CREATE TABLE assignment_counts (
    rule_key  text NOT NULL,
    rep_id    text NOT NULL REFERENCES reps (id),
    assigned  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (rule_key, rep_id)
);

-- Submissions folded into an existing lead (duplicates, merge policy): their idempotency keys
-- answer retries exactly as the first submission was answered.
CREATE TABLE lead_merges (
    idempotency_key text PRIMARY KEY,
    request_hash    bytea NOT NULL,
    lead_id         uuid NOT NULL REFERENCES leads (id),
    merged_at       timestamptz NOT NULL
);

-- A duplicate kept as rejected names the lead it duplicates.
ALTER TABLE leads ADD COLUMN duplicate_of uuid REFERENCES leads (id);

-- Duplicate detection: the same email, or the same company domain and name, among live leads.
CREATE INDEX leads_live_by_email ON leads (email)
    WHERE email <> '' AND state NOT IN ('rejected', 'archived');
CREATE INDEX leads_live_by_company ON leads (company_domain, lower(company))
    WHERE company_domain <> '' AND company <> '' AND state NOT IN ('rejected', 'archived');

-- Import rows too malformed to be a lead, kept with why.
CREATE TABLE rejected_rows (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    import_id   text NOT NULL,
    row_number  bigint NOT NULL,
    reason      text NOT NULL,
    row_data    jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    UNIQUE (import_id, row_number)
);
