-- Every administrative action (policy applies, pool and rep changes, manual assignments and
-- reassignments, returns, availability changes, erasures, jobs run on demand): who, when, from
-- where and what. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE for everyone, and
-- the role that runs the migrations (the services' role) loses those privileges on it.
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL,
    -- users/ops, reps/max, services/crm
    actor  text NOT NULL,
    roles  text[] NOT NULL,
    -- The caller's address as the service saw it (and what x-forwarded-for said).
    origin text NOT NULL,
    -- policy.apply, pool.create, rep.upsert, rep.availability, lead.assign, leads.reassign,
    -- lead.return, lead.erase, job.run
    action text NOT NULL,
    -- The resource acted on: pools/west, reps/alice, leads/…, jobs/aging, policy.
    target text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_target ON audit_log (target, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_never_truncated BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
DO $$ BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', current_user);
END $$;
