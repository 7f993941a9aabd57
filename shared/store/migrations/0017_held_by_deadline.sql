-- Issue 22: the SLA sweep walks claimed and assigned leads together, earliest deadline first,
-- and each of its batches resumes after the last lead the batch before it moved. One index over
-- both states, so one ordered scan serves them (two scans merged would sort every batch), keyed
-- by (deadline, id) so the resume point is exact among leads due at the same instant. The
-- deadline warnings read the same states by deadline.
DROP INDEX leads_claimed_by_deadline;
DROP INDEX leads_assigned_by_deadline;
CREATE INDEX leads_held_by_deadline ON leads (contact_due_at, id)
    WHERE state IN ('claimed', 'assigned');
