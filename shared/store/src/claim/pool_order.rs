//! A pool's claim order with each lead's aging place derived when read (issue 22.3).
//!
//! An available lead ranks at its own priority, or at the bar of the aging place it has reached
//! (the pool's `pool_aging` row: the median and 90th percentile priority of its younger leads as
//! of the last aging run, and the instants a lead must have entered the pool by to reach each)
//! where the bar is higher; ties sort older first. That rank is no column, so no index holds the
//! order; but it falls into seven ranges of the rank, highest first, each read in order from an
//! index the pool already has with no sort:
//!
//! 1. above the top bar: ranked at their own priority (`leads_available_by_priority`);
//! 2. at the top bar, the leads old enough for the top tenth, oldest first (`…_by_age`);
//! 3. at the top bar, the younger leads whose own priority is that bar (by priority: one key);
//! 4. between the bars, the leads younger than the top tenth's cutoff, at their own priority;
//! 5. at the lower bar, the leads old enough for the top half, oldest first;
//! 6. at the lower bar, the younger leads whose own priority is that bar (when the bars differ);
//! 7. below the lower bar, the leads younger than the top half's cutoff, at their own priority.
//!
//! Within a range the index's order is the claim order (in ranges 2, 3, 5 and 6 every lead has
//! the same rank, and 2 is older than 3, 5 older than 6). The ranges never overlap: the bars are
//! in order and equal bars are one place with one cutoff (`pool_aging`'s constraints). A pool
//! without a row ranks every lead at its own priority: both bars 0, both cutoffs `-infinity`.
//!
//! A pick is the ranges as a `UNION ALL` under one `LIMIT`, each range `LIMIT`ed and locked:
//! a non-parallel Append runs its branches in order and the `LIMIT` above it stops it, so a pick
//! the top range serves never reads the others, and each branch locks only what it returns.

/// `$callback!($($args)* "<bars>"; <ranges>)`: the `bars` CTE of pool `$1` (its `pool_aging`
/// row, or the bars of a pool without one), then each range as `[condition, rank, order]`, SQL
/// over `leads l` and `bars`.
macro_rules! pool_order_ranges {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)*
            "bars AS (SELECT COALESCE(a.half_bar, 0) AS half_bar, \
               COALESCE(a.tenth_bar, 0) AS tenth_bar, \
               COALESCE(a.half_before, '-infinity') AS half_before, \
               COALESCE(a.tenth_before, '-infinity') AS tenth_before \
             FROM (SELECT) one LEFT JOIN pool_aging a ON a.pool_id = $1)";
            ["l.priority > (SELECT tenth_bar FROM bars)",
             "l.priority", "l.priority DESC, l.pooled_at, l.id"],
            ["l.pooled_at <= (SELECT tenth_before FROM bars) \
              AND l.priority <= (SELECT tenth_bar FROM bars)",
             "(SELECT tenth_bar FROM bars)", "l.pooled_at, l.id"],
            ["l.pooled_at > (SELECT tenth_before FROM bars) \
              AND l.priority = (SELECT tenth_bar FROM bars)",
             "l.priority", "l.priority DESC, l.pooled_at, l.id"],
            ["l.pooled_at > (SELECT tenth_before FROM bars) \
              AND l.priority > (SELECT half_bar FROM bars) \
              AND l.priority < (SELECT tenth_bar FROM bars)",
             "l.priority", "l.priority DESC, l.pooled_at, l.id"],
            ["l.pooled_at > (SELECT tenth_before FROM bars) \
              AND l.pooled_at <= (SELECT half_before FROM bars) \
              AND l.priority <= (SELECT half_bar FROM bars)",
             "(SELECT half_bar FROM bars)", "l.pooled_at, l.id"],
            ["l.pooled_at > (SELECT half_before FROM bars) \
              AND l.priority = (SELECT half_bar FROM bars) \
              AND (SELECT half_bar < tenth_bar FROM bars)",
             "l.priority", "l.priority DESC, l.pooled_at, l.id"],
            ["l.pooled_at > (SELECT half_before FROM bars) \
              AND l.priority < (SELECT half_bar FROM bars)",
             "l.priority", "l.priority DESC, l.pooled_at, l.id"]
        )
    };
}

/// `$callback!($head: [<pick> $($tail)*] $($rest)*)`, where `<pick>` is `WITH bars AS (…), picked AS
/// (…)`: the first `$limit` available leads of pool `$1` in claim order that `$filter` (SQL over
/// `leads l`) lets through, locked (leads another transaction holds are skipped), each with its
/// `place` in that order from 1.
macro_rules! pick_in_pool_order {
    (@ranges $filter:literal, $limit:literal, $callback:ident ($($head:ident:)?) [$($tail:literal)*]
     ($($rest:tt)*) $bars:literal; $([$condition:literal, $rank:literal, $order:literal]),+) => {
        $callback!(
            $($head:)?
            [
                "WITH " $bars ", picked AS (SELECT id, \
                   row_number() OVER (ORDER BY rank DESC, pooled_at, id) AS place FROM ("
                $("SELECT * FROM (SELECT l.id, " $rank " AS rank, l.pooled_at FROM leads l \
                   WHERE l.pool_id = $1 AND l.state = 'available' AND " $filter " AND "
                   $condition " ORDER BY " $order " LIMIT " $limit " FOR UPDATE SKIP LOCKED) r")
                " UNION ALL "+
                " LIMIT " $limit ") ranges) "
                $($tail)*
            ]
            $($rest)*
        )
    };
    ($filter:literal, $limit:literal,
     $callback:ident!($($head:ident:)? [$($tail:literal)*] $($rest:tt)*)) => {
        pool_order_ranges!(pick_in_pool_order!(
            @ranges $filter, $limit, $callback ($($head:)?) [$($tail)*] ($($rest)*)
        ))
    };
}

/// One page of pool `$1`'s available leads in claim order after the cursor (`$3` its rank, `$4`
/// and `$5` its `pooled_at` and id; the first page without one), at most `$2`, as a checked
/// [`lead_rows!`] query. Each range is read as two index range scans limited to a page: its
/// leads at the cursor's rank after the cursor, then those ranked below it (a descending rank
/// with ascending ties cannot be one row comparison); the page is the first `$2` of them all.
macro_rules! page_in_pool_order {
    (@ranges ($($arg:expr),*) $bars:literal;
     $([$condition:literal, $rank:literal, $order:literal]),+) => {
        lead_rows!(
            [
                $bars ", out AS (SELECT * FROM ("
                $("(SELECT l.*, " $rank " AS rank FROM leads l \
                   WHERE l.pool_id = $1 AND l.state = 'available' AND " $condition " \
                   AND " $rank " = COALESCE($3, 2147483647) \
                   AND (l.pooled_at, l.id) > (COALESCE($4, '-infinity'::timestamptz), \
                     COALESCE($5, '00000000-0000-0000-0000-000000000000'::uuid)) \
                   ORDER BY " $order " LIMIT $2) \
                 UNION ALL \
                 (SELECT l.*, " $rank " AS rank FROM leads l \
                   WHERE l.pool_id = $1 AND l.state = 'available' AND " $condition " \
                   AND " $rank " < COALESCE($3, 2147483647) \
                   ORDER BY " $order " LIMIT $2)")
                " UNION ALL "+
                ") page ORDER BY rank DESC, pooled_at, id LIMIT $2)"
            ]
            order by "rank DESC, pooled_at, id",
            $($arg),*
        )
    };
    ($($arg:expr),* $(,)?) => {
        pool_order_ranges!(page_in_pool_order!(@ranges ($($arg),*)))
    };
}
