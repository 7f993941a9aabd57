-- Issue 22: a claim ratio reads the rep's claims since her last claim from the ratio's pool
-- (`claim::history::ratio_progress`), on every claim from that pool. No index served it: the
-- last claim was found by walking the whole history backwards from its newest row (`max(id)`
-- down the primary key, every row of every rep until one matched: the whole table for a rep
-- who never claimed there), and her claims since were the rep's history intersected with every
-- claim of every rep. Keyed by rep, pool and id, both are ranges of the rep's own claims.
CREATE INDEX lead_events_claims_by_rep ON lead_events (rep_id, pool_id, id)
    WHERE kind = 'lead.claimed';
