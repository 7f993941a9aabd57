-- The language to speak with a lead's contact (reps' languages are matched against it).
ALTER TABLE leads ADD COLUMN language text NOT NULL DEFAULT '';

-- Overflow (P3): leads unclaimed for a pool's overflow age are pushed to reps of lower
-- seniority, who may accept or reject them.
ALTER TABLE leads DROP CONSTRAINT leads_assigned_by_check;
ALTER TABLE leads ADD CONSTRAINT leads_assigned_by_check
    CHECK (assigned_by IN ('auto', 'forced', 'manual', 'overflow'));
ALTER TABLE lead_events DROP CONSTRAINT lead_events_kind_is_known;
-- The list is leadpool_domain::EventKind; a test keeps the two equal.
ALTER TABLE lead_events ADD CONSTRAINT lead_events_kind_is_known CHECK (kind IN (
    'lead.received', 'lead.rejected', 'lead.merged', 'lead.routed', 'lead.auto_assigned',
    'lead.pool_released', 'lead.claimed', 'lead.released', 'lead.contacted',
    'lead.opportunity', 'lead.won', 'lead.lost',
    'lead.assignment_accepted', 'lead.assignment_rejected', 'lead.assignment_expired',
    'lead.sla_expired', 'lead.prioritized', 'lead.escalated', 'lead.force_assigned',
    'lead.overflowed',
    'lead.moved', 'lead.nurtured', 'lead.archived', 'lead.held', 'lead.resumed',
    'lead.assigned', 'lead.reassigned', 'lead.returned', 'lead.erased', 'lead.drained',
    'lead.waiting', 'lead.contact_due_soon'));

-- The weekly cleanup also proposes evening out unbalanced segments: the routing values it
-- moves between rules, and each segmented pool's share of the inflow before and after.
ALTER TABLE cleanup_proposals ADD COLUMN moves jsonb NOT NULL DEFAULT '[]';
ALTER TABLE cleanup_proposals ADD COLUMN shares jsonb NOT NULL DEFAULT '[]';
