-- Returning leads (I4): duplicates are matched only among leads still in play; a new inquiry
-- from a contact whose earlier lead is closed, nurtured or archived is a new lead pointing at it.
-- Outcomes are their own kinds of history rows, so conversion is read from the history.

ALTER TABLE leads ADD COLUMN previous_lead uuid REFERENCES leads (id);

-- Every lead but rejected ones: in-play leads are what duplicates match, the others what a
-- returning contact's new lead points at.
DROP INDEX leads_live_by_email;
DROP INDEX leads_live_by_company;
CREATE INDEX leads_known_by_email ON leads (email) WHERE email <> '' AND state <> 'rejected';
CREATE INDEX leads_known_by_company ON leads (company_domain, lower(company))
    WHERE company_domain <> '' AND company <> '' AND state <> 'rejected';

-- `lead.closed` becomes the outcome itself: an opportunity, a won customer, a lost lead.
ALTER TABLE lead_events DROP CONSTRAINT lead_events_kind_is_known;
ALTER TABLE lead_events DISABLE TRIGGER lead_events_append_only;
UPDATE lead_events SET kind = CASE
    WHEN reason LIKE 'outcome customer%' THEN 'lead.won'
    WHEN reason LIKE 'outcome lost%' THEN 'lead.lost'
    ELSE 'lead.opportunity'
END WHERE kind = 'lead.closed';
ALTER TABLE lead_events ENABLE TRIGGER lead_events_append_only;
-- The list is leadpool_domain::EventKind; a test keeps the two equal.
ALTER TABLE lead_events ADD CONSTRAINT lead_events_kind_is_known CHECK (kind IN (
    'lead.received', 'lead.rejected', 'lead.merged', 'lead.routed', 'lead.auto_assigned',
    'lead.pool_released', 'lead.claimed', 'lead.released', 'lead.contacted',
    'lead.opportunity', 'lead.won', 'lead.lost',
    'lead.assignment_accepted', 'lead.assignment_rejected', 'lead.assignment_expired',
    'lead.sla_expired', 'lead.prioritized', 'lead.escalated', 'lead.force_assigned',
    'lead.moved', 'lead.nurtured', 'lead.archived', 'lead.held', 'lead.resumed',
    'lead.assigned', 'lead.reassigned', 'lead.returned', 'lead.erased', 'lead.drained'));
