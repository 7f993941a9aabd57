-- Issue 22.3: a lead's aging place in its pool (standard, top half, top tenth) follows from its
-- time in the pool, so it is derived when read instead of written into every aged lead. The
-- aging job keeps one row per pool: the bars (the median and 90th percentile priority of the
-- pool's leads younger than its first aging step, as of its last run) and the cutoffs (the
-- instants a lead must have entered the pool by to reach each bar). An available lead ranks at
-- its own priority, or at the bar of the highest place it has reached where that is higher.
--
-- Normalised so that every read can split a pool's order into ranges that never overlap:
-- half_bar <= tenth_bar, tenth_before <= half_before, and where the two bars are equal the two
-- places are one (tenth_before = half_before). A pool without a row ranks every lead at its own
-- priority.
CREATE TABLE pool_aging (
    pool_id      text PRIMARY KEY REFERENCES pools (id),
    half_bar     integer NOT NULL,
    tenth_bar    integer NOT NULL,
    half_before  timestamptz NOT NULL,
    tenth_before timestamptz NOT NULL,
    aged_at      timestamptz NOT NULL,
    CONSTRAINT bars_in_order CHECK (half_bar <= tenth_bar),
    CONSTRAINT cutoffs_in_order CHECK (tenth_before <= half_before),
    CONSTRAINT equal_bars_are_one_place CHECK (half_bar < tenth_bar OR tenth_before = half_before)
);

-- The priority a lead ranks at, as `Lead.priority` shows it: for an available lead its own or
-- the bar of its place, whichever is higher; otherwise its own. `aging` is the lead's pool's
-- row, NULL where it has none. A plain expression, so the planner inlines it.
CREATE FUNCTION pool_priority(aging pool_aging, state text, pooled_at timestamptz, priority integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN $2 <> 'available' THEN $4
                WHEN $3 <= ($1).tenth_before THEN greatest($4, ($1).tenth_bar)
                WHEN $3 <= ($1).half_before THEN greatest($4, ($1).half_bar)
                ELSE $4 END
$$;
