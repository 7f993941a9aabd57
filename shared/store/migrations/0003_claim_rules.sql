-- Claim rules (limits, acceptance, outcomes): no new tables, only what their queries need.

-- Assigned leads have a deadline too: accept (or contact) before it, or the lead goes back.
CREATE INDEX leads_assigned_by_deadline ON leads (contact_due_at) WHERE state = 'assigned';

-- A closed lead always says how it ended.
ALTER TABLE leads ADD CONSTRAINT closed_leads_have_an_outcome
    CHECK (state <> 'closed' OR outcome IS NOT NULL);
