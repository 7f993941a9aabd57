-- X2: every lifecycle step counts from pool entry, so the daily refresh walks unclaimed leads
-- by pooled_at, not received_at.
DROP INDEX leads_unclaimed_by_received;
CREATE INDEX leads_unclaimed_by_age ON leads (pool_id, pooled_at, id)
    WHERE state IN ('available', 'escalated');
