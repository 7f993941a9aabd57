-- Duty-aware push (H4, A4): a lead that auto- or forced assignment cannot push to anyone now
-- waits, and its history says why (once per distinct reason, not once per retry).
ALTER TABLE lead_events DROP CONSTRAINT lead_events_kind_is_known;
-- The list is leadpool_domain::EventKind; a test keeps the two equal.
ALTER TABLE lead_events ADD CONSTRAINT lead_events_kind_is_known CHECK (kind IN (
    'lead.received', 'lead.rejected', 'lead.merged', 'lead.routed', 'lead.auto_assigned',
    'lead.pool_released', 'lead.claimed', 'lead.released', 'lead.contacted',
    'lead.opportunity', 'lead.won', 'lead.lost',
    'lead.assignment_accepted', 'lead.assignment_rejected', 'lead.assignment_expired',
    'lead.sla_expired', 'lead.prioritized', 'lead.escalated', 'lead.force_assigned',
    'lead.moved', 'lead.nurtured', 'lead.archived', 'lead.held', 'lead.resumed',
    'lead.assigned', 'lead.reassigned', 'lead.returned', 'lead.erased', 'lead.drained',
    'lead.waiting'));
