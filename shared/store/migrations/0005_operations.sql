-- Managers and reps close the loop: what kind of change each history row is, manual
-- assignment and reassignment, rep availability set through the API, lead search, erasure.

-- What each change was (the event type platforms see). Several kinds share a pair of states,
-- so the kind is recorded, never inferred. Existing rows are classified from their states and
-- reasons, as the services wrote them.
ALTER TABLE lead_events ADD COLUMN kind text;
-- An assignment decision that must not count against the rep's acceptance: the assignment left
-- her no choice, or it expired while she was off duty.
ALTER TABLE lead_events ADD COLUMN excused boolean NOT NULL DEFAULT false;

ALTER TABLE lead_events DISABLE TRIGGER lead_events_append_only;
UPDATE lead_events SET kind = CASE
    WHEN from_state IS NULL AND to_state = 'received' THEN 'lead.received'
    WHEN to_state = 'rejected' THEN 'lead.rejected'
    WHEN reason LIKE 'merged duplicate submission%' THEN 'lead.merged'
    WHEN from_state = 'received' AND to_state IN ('available', 'scheduled') THEN 'lead.routed'
    WHEN from_state = 'received' AND to_state = 'assigned' THEN 'lead.auto_assigned'
    WHEN from_state = 'scheduled' AND reason LIKE 'backpressure%' THEN 'lead.resumed'
    WHEN from_state = 'scheduled' AND to_state = 'available' THEN 'lead.pool_released'
    WHEN from_state = 'available' AND to_state = 'scheduled' THEN 'lead.held'
    WHEN from_state = 'available' AND to_state = 'claimed' THEN 'lead.claimed'
    WHEN from_state = 'claimed' AND to_state = 'contacted' THEN 'lead.contacted'
    WHEN to_state = 'closed' THEN 'lead.closed'
    WHEN from_state = 'assigned' AND to_state = 'claimed' THEN 'lead.assignment_accepted'
    WHEN from_state = 'assigned' AND reason = 'assignment not accepted in time' THEN 'lead.assignment_expired'
    WHEN from_state = 'assigned' THEN 'lead.assignment_rejected'
    WHEN reason = 'contact SLA expired' THEN 'lead.sla_expired'
    WHEN from_state IN ('claimed', 'contacted') AND to_state IN ('available', 'received') THEN 'lead.released'
    WHEN to_state = 'escalated' THEN 'lead.escalated'
    WHEN to_state = 'assigned' THEN 'lead.force_assigned'
    WHEN to_state = 'nurture' THEN 'lead.nurtured'
    WHEN to_state = 'archived' THEN 'lead.archived'
    WHEN from_state = 'available' AND to_state = 'available' AND reason LIKE 'aged:%' THEN 'lead.prioritized'
    ELSE 'lead.moved'
END;
ALTER TABLE lead_events ENABLE TRIGGER lead_events_append_only;
ALTER TABLE lead_events ALTER COLUMN kind SET NOT NULL;
-- The list is leadpool_domain::EventKind; a test keeps the two equal.
ALTER TABLE lead_events ADD CONSTRAINT lead_events_kind_is_known CHECK (kind IN (
    'lead.received', 'lead.rejected', 'lead.merged', 'lead.routed', 'lead.auto_assigned',
    'lead.pool_released', 'lead.claimed', 'lead.released', 'lead.contacted', 'lead.closed',
    'lead.assignment_accepted', 'lead.assignment_rejected', 'lead.assignment_expired',
    'lead.sla_expired', 'lead.prioritized', 'lead.escalated', 'lead.force_assigned',
    'lead.moved', 'lead.nurtured', 'lead.archived', 'lead.held', 'lead.resumed',
    'lead.assigned', 'lead.reassigned', 'lead.returned', 'lead.erased'));
CREATE INDEX lead_events_decisions ON lead_events (rep_id, occurred_at)
    WHERE from_state = 'assigned';

-- The history stays append-only, with one exception: erasing a person's data (GDPR Art. 17)
-- blanks the free text a history row may carry (release reasons, notes). Nothing else of a row
-- may ever change, and rows are never deleted.
CREATE OR REPLACE FUNCTION lead_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.reason = '[erased]'
       AND (NEW.id, NEW.lead_id, NEW.from_state, NEW.to_state, NEW.actor, NEW.pool_id,
            NEW.rep_id, NEW.occurred_at, NEW.kind, NEW.excused)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.lead_id, OLD.from_state, OLD.to_state, OLD.actor, OLD.pool_id,
            OLD.rep_id, OLD.occurred_at, OLD.kind, OLD.excused) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'lead_events is append-only: % is not allowed', TG_OP;
END;
$$;

-- How the lead's current (or last) assignment came about, and whether its rep may turn it
-- down: auto-assignment (yes), forced assignment (never: S4), a manager's (a policy setting).
ALTER TABLE leads ADD COLUMN assigned_by text CHECK (assigned_by IN ('auto', 'forced', 'manual'));
ALTER TABLE leads ADD COLUMN rejectable boolean NOT NULL DEFAULT true;

-- Erasure: the lead keeps its skeleton (state, pool, times, outcome, deal size) for the
-- metrics; who erased it and when is kept, the data is not.
ALTER TABLE leads ADD COLUMN erased_at timestamptz;
ALTER TABLE leads ADD COLUMN erased_by text;

-- Availability set through the API (SetRepAvailability), beside the policy's absences: the two
-- combine. One current setting per rep; `available` clears it.
CREATE TABLE rep_availability (
    rep_id     text PRIMARY KEY REFERENCES reps (id),
    status     text NOT NULL CHECK (status IN ('out_of_office', 'busy')),
    -- Away from `away_from` until `away_until` (open-ended when NULL).
    away_from  timestamptz NOT NULL,
    away_until timestamptz,
    note       text NOT NULL DEFAULT '',
    set_by     text NOT NULL,
    set_at     timestamptz NOT NULL,
    CHECK (away_until IS NULL OR away_until > away_from)
);

-- ListLeads' search: a case-insensitive prefix of email, contact name, company or company
-- domain, as index range scans (`~>=~`/`~<~` match text_pattern_ops in any plan).
CREATE INDEX leads_search_email ON leads (lower(email) text_pattern_ops) WHERE email <> '';
CREATE INDEX leads_search_name ON leads (lower(contact_name) text_pattern_ops) WHERE contact_name <> '';
CREATE INDEX leads_search_company ON leads (lower(company) text_pattern_ops) WHERE company <> '';
CREATE INDEX leads_search_domain ON leads (company_domain text_pattern_ops) WHERE company_domain <> '';
