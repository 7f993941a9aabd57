-- S5 weekly cleanup: the policy change it proposes (merging low-volume pools), for an ops team
-- to review and apply. Never applied by itself.
CREATE TABLE cleanup_proposals (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at     timestamptz NOT NULL,
    -- The policy version the proposal edits.
    policy_version bigint NOT NULL,
    -- The proposed policy document, as YAML.
    document       text NOT NULL,
    -- [{ "pool", "into", "newLeads" }] and [{ "pool", "why" }].
    merges         jsonb NOT NULL,
    kept           jsonb NOT NULL
);
