//! The aging place read, not written (issue 22.3, measured before it was built; Leadpool now
//! reads places this way, `shared/store/src/claim/pool_order.rs`). A lead's place
//! in its pool — standard, top half, top tenth — follows from its time in the pool and the
//! pool's bars (the median and 90th percentile priority of its younger leads). Today the aging
//! job writes it: every aged lead's priority is raised, one non-HOT update and history row
//! each. Derived on read, the job would store each pool's two bars and two cutoffs and write
//! only escalations, and the pick would read the derived order from the indexes the pool
//! already has. On the same million leads this part measures:
//!
//! * what aging writes as bare statements: the escalations alone (what remains with the place
//!   derived) and the raises (what deriving removes);
//! * that the derived order is the stored order, lead for lead, over the whole pool;
//! * the bare single-row claim picking in each order, at each connection count.

use std::sync::LazyLock;
use std::time::Duration;

use leadpool_testing::TestDatabase;
use sqlx::PgPool;

use crate::claims;
use crate::jobs;
use crate::report::Report;
use crate::seed;

const LEADS: i64 = 1_000_000;

/// The aging pool's available leads in claim order with the place derived: seven ranges of
/// the derived priority (`greatest(priority, bar)` once the lead is past a cutoff), highest
/// first, each read in order from one index with no sort: `leads_available_by_priority`
/// where the derived priority is the lead's own, `leads_available_by_age` where it is a bar,
/// the same for the whole range (ties sort older first). A pick reaches a range only once the
/// ranges above it have no lead left for it.
const RANGES: [(&str, &str); 7] = [
    ("priority > {tenth_bar}", BY_PRIORITY),
    (
        "pooled_at <= {tenth_before} AND priority <= {tenth_bar}",
        BY_AGE,
    ),
    (
        "pooled_at > {tenth_before} AND priority = {tenth_bar}",
        BY_AGE,
    ),
    (
        "pooled_at > {tenth_before} AND priority > {half_bar} AND priority < {tenth_bar}",
        BY_PRIORITY,
    ),
    (
        "pooled_at > {tenth_before} AND pooled_at <= {half_before} AND priority <= {half_bar}",
        BY_AGE,
    ),
    (
        "pooled_at > {half_before} AND priority = {half_bar}",
        BY_AGE,
    ),
    (
        "pooled_at > {half_before} AND priority < {half_bar}",
        BY_PRIORITY,
    ),
];
const BY_PRIORITY: &str = "priority DESC, pooled_at, id";
const BY_AGE: &str = "pooled_at, id";

pub async fn measure(report: &mut Report) {
    println!("aging read: seeding a million leads aged 0–72 hours");
    let derived = TestDatabase::new().await;
    seed::apply(&derived, &policy()).await;
    let now = chrono::Utc::now();
    jobs::seed(&derived, now, (LEADS, 0, 0)).await;
    let escalations = jobs::run_bare(&derived, &[jobs::escalation()], now).await;
    let stored = derived.duplicate().await;
    seed::settle(&stored).await;
    let raises = jobs::run_bare(&stored, &[jobs::raise()], now).await;
    report.set(
        "aging_escalations_1m_s",
        crate::round2(escalations.as_secs_f64()),
    );
    report.set("aging_raises_1m_s", crate::round2(raises.as_secs_f64()));
    report.line(
        "aging's bare statements, 1M leads: escalations (kept), raises (gone if derived)",
        format!(
            "{:.2} s, {:.2} s",
            escalations.as_secs_f64(),
            raises.as_secs_f64()
        ),
    );
    store_bars(&derived, now).await;
    seed::settle(&derived).await;

    let (stored_order, derived_order) = (
        claim_order(
            &stored,
            &format!("SELECT id FROM leads WHERE {BASE} ORDER BY {BY_PRIORITY}"),
        )
        .await,
        claim_order(&derived, &derived_order_sql()).await,
    );
    let first_difference = stored_order
        .iter()
        .zip(&derived_order)
        .position(|(a, b)| a != b);
    assert!(
        first_difference.is_none() && stored_order.len() == derived_order.len(),
        "the derived order differs from the stored one: {} and {} leads, first difference at {first_difference:?}",
        stored_order.len(),
        derived_order.len()
    );
    report.line(
        "aging read: the derived claim order against the raised priorities",
        format!("the same, lead for lead ({} leads)", stored_order.len()),
    );

    let duration = Duration::from_secs(10);
    let mut by_stored = claims::sweep(&stored, stored_claim, 1, duration).await;
    let mut by_derived = claims::sweep(&derived, derived_claim, 1, duration).await;
    report.set(
        "aging_read_stored_by_connections",
        by_stored.by_connections(),
    );
    report.set(
        "aging_read_derived_by_connections",
        by_derived.by_connections(),
    );
    let (stored_summary, derived_summary) = (by_stored.summary(), by_derived.summary());
    let stored_best = by_stored.best().run.rows_per_s();
    let derived_best = by_derived.best().run.rows_per_s();
    report.line(
        "aging read: bare claim, stored order (claims/s)",
        stored_summary,
    );
    report.line(
        "aging read: bare claim, derived order (claims/s)",
        derived_summary,
    );
    report.row(
        "aging read: bare claim at its best, derived order against stored",
        derived_best,
        stored_best,
        "claims/s",
    );
}

/// The reps the claim sweep claims for, and the aging pool with the default lifecycle
/// (top half at 12 hours, top tenth at 24, escalation at 48).
fn policy() -> String {
    let reps: Vec<String> = (0..seed::reps())
        .map(|i| format!("{{ id: rep-{i}, role: sdr }}"))
        .collect();
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{}]\n\
         pools: [{{ id: aging, type: open }}]\nrouting: {{ default: {{ pool: aging }} }}\n",
        reps.join(", ")
    )
}

/// The pool's available leads.
const BASE: &str = "pool_id = 'aging' AND state = 'available'";

/// What the aging job would write per pool instead of raising its leads: the bars the raises
/// use (`jobs::BARS`) and the cutoffs, as of its run.
async fn store_bars(db: &TestDatabase, now: chrono::DateTime<chrono::Utc>) {
    sqlx::query(&format!(
        "CREATE TABLE aging_bars AS SELECT 'aging'::text AS pool_id, \
           p50 AS half_bar, p90 AS tenth_bar, \
           $1 - interval '12 hours' AS half_before, $1 - interval '24 hours' AS tenth_before \
         FROM ({}) bars",
        jobs::BARS
    ))
    .bind(now)
    .execute(db.store().pool())
    .await
    .expect("store the aging pool's bars");
}

/// `condition` with each bar and cutoff read from the pool's row (one-row lookups the planner
/// runs once, before the index scan they bound).
fn bound(condition: &str) -> String {
    ["half_bar", "tenth_bar", "half_before", "tenth_before"]
        .iter()
        .fold(condition.to_owned(), |sql, column| {
            sql.replace(
                &format!("{{{column}}}"),
                &format!("(SELECT {column} FROM aging_bars WHERE pool_id = 'aging')"),
            )
        })
}

/// The whole derived order, numbered within each range, for comparing.
fn derived_order_sql() -> String {
    format!(
        "SELECT id FROM ({}) ordered ORDER BY range, place",
        union_of_ranges(|range, condition, order| format!(
            "SELECT id, {range} AS range, row_number() OVER (ORDER BY {order}) AS place \
             FROM leads WHERE {BASE} AND {condition}"
        ))
    )
}

/// The derived pick: the ranges in turn, each locking at most `{count}` leads and only once the
/// ranges before it came up short — an Append runs its branches in order and a LIMIT above it
/// stops it, so a pick from the top range never touches the others.
fn derived_pick_sql() -> String {
    format!(
        "{} LIMIT {{count}}",
        union_of_ranges(|range, condition, order| format!(
            "SELECT id FROM (SELECT id FROM leads WHERE {BASE} AND {condition} \
             ORDER BY {order} LIMIT {{count}} FOR UPDATE SKIP LOCKED) range_{range}"
        ))
    )
}

/// `RANGES` in order, each as the SQL `branch` makes of its number, its condition (bound) and
/// its order, joined by `UNION ALL`.
fn union_of_ranges(branch: impl Fn(usize, String, &str) -> String) -> String {
    RANGES
        .iter()
        .enumerate()
        .map(|(range, (condition, order))| branch(range, bound(condition), order))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

async fn claim_order(db: &TestDatabase, sql: &str) -> Vec<uuid::Uuid> {
    sqlx::query_scalar(sql)
        .fetch_all(db.store().pool())
        .await
        .expect("read the claim order")
}

async fn stored_claim(pool: PgPool, rep: String, count: i64) -> usize {
    static PICK: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT id FROM leads WHERE {BASE} ORDER BY {BY_PRIORITY} LIMIT {{count}} FOR UPDATE SKIP LOCKED"
        )
    });
    claims::claim_picked(&PICK, pool, rep, count).await
}

async fn derived_claim(pool: PgPool, rep: String, count: i64) -> usize {
    static PICK: LazyLock<String> = LazyLock::new(derived_pick_sql);
    claims::claim_picked(&PICK, pool, rep, count).await
}
