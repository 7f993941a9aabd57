-- Issue 14: open-lead caps read a counter instead of counting a rep's leads. Each rep's open
-- leads (claimed, assigned, contacted) per pool, kept by statement triggers on leads, so no
-- writer can forget it: one aggregated upsert per statement, whatever the statement changed.
-- The caps stay exact as before: every writer that gives a rep an open lead holds her claim
-- lock and commits the counter with the lead; writers that take one away may run beside it,
-- which can only make a count read under the lock too high, never too low.

CREATE TABLE rep_open_leads (
    rep_id  text NOT NULL,
    -- '' for a lead without a pool.
    pool_id text NOT NULL,
    open    integer NOT NULL,
    PRIMARY KEY (rep_id, pool_id)
);

INSERT INTO rep_open_leads (rep_id, pool_id, open)
SELECT owner_rep_id, coalesce(pool_id, ''), count(*)
FROM leads
WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted')
GROUP BY 1, 2;

-- The changes of one statement, applied in (rep, pool) order: two statements changing the
-- same reps lock their counters in the same order and cannot deadlock on them.
CREATE FUNCTION count_open_leads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rep_open_leads (rep_id, pool_id, open)
    SELECT rep_id, pool_id, sum(delta)
    FROM (
        SELECT owner_rep_id AS rep_id, coalesce(pool_id, '') AS pool_id, -1 AS delta
        FROM old_leads
        WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted')
        UNION ALL
        SELECT owner_rep_id, coalesce(pool_id, ''), 1
        FROM new_leads
        WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted')
    ) changes
    GROUP BY rep_id, pool_id
    HAVING sum(delta) <> 0
    ORDER BY rep_id, pool_id
    ON CONFLICT (rep_id, pool_id) DO UPDATE SET open = rep_open_leads.open + EXCLUDED.open;
    RETURN NULL;
END;
$$;

CREATE FUNCTION count_open_leads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rep_open_leads (rep_id, pool_id, open)
    SELECT owner_rep_id, coalesce(pool_id, ''), count(*)
    FROM new_leads
    WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted')
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (rep_id, pool_id) DO UPDATE SET open = rep_open_leads.open + EXCLUDED.open;
    RETURN NULL;
END;
$$;

CREATE FUNCTION count_open_leads_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rep_open_leads (rep_id, pool_id, open)
    SELECT owner_rep_id, coalesce(pool_id, ''), -count(*)
    FROM old_leads
    WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted')
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (rep_id, pool_id) DO UPDATE SET open = rep_open_leads.open + EXCLUDED.open;
    RETURN NULL;
END;
$$;

-- (Transition tables rule out `UPDATE OF <columns>`: every update statement is looked at.)
CREATE TRIGGER leads_open_counted_on_update
    AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS old_leads NEW TABLE AS new_leads
    FOR EACH STATEMENT EXECUTE FUNCTION count_open_leads_changed();
CREATE TRIGGER leads_open_counted_on_insert
    AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_leads
    FOR EACH STATEMENT EXECUTE FUNCTION count_open_leads_inserted();
CREATE TRIGGER leads_open_counted_on_delete
    AFTER DELETE ON leads
    REFERENCING OLD TABLE AS old_leads
    FOR EACH STATEMENT EXECUTE FUNCTION count_open_leads_deleted();
