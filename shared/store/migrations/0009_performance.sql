-- A3: performance computed from results. Each daily rating run keeps every rated rep's tier and
-- the figure behind it; services lay the latest run over the policy in force.
CREATE TABLE performance_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    computed_at timestamptz NOT NULL
);
CREATE TABLE rep_ratings (
    run_id      bigint NOT NULL REFERENCES performance_runs (id) ON DELETE CASCADE,
    rep_id      text NOT NULL,
    performance text NOT NULL CHECK (performance IN ('top', 'on-quota', 'below-quota')),
    figure      float8 NOT NULL,
    claims      bigint NOT NULL,
    basis       text NOT NULL,
    PRIMARY KEY (run_id, rep_id)
);
-- The figures: claims and acceptances per rep over a window.
CREATE INDEX lead_events_claims_by_time ON lead_events (occurred_at)
    WHERE kind IN ('lead.claimed', 'lead.assignment_accepted');
