//! The scheduler's lead moves (S1, S3–S6). Each is set-based SQL applied in batches inside the
//! caller's transaction (the one that records the job run), and each moved lead gets its history
//! row in the same statement. Per-pool settings travel as parallel arrays (`unnest`), so one
//! statement serves every pool.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, PoolId, RepId};
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use crate::error::db_error;

type IdQuery<'q> = QueryAs<'q, Postgres, (Uuid,), PgArguments>;

/// Runs `sql` (whose last parameter is the batch size) until a batch comes back short.
async fn in_batches<'q>(
    conn: &mut PgConnection,
    sql: &'q str,
    batch_size: i64,
    bind: impl Fn(IdQuery<'q>) -> IdQuery<'q>,
) -> Result<Vec<LeadId>, Error> {
    let mut changed = Vec::new();
    loop {
        let batch: Vec<(Uuid,)> = bind(sqlx::query_as(sql))
            .bind(batch_size)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let done = (batch.len() as i64) < batch_size;
        changed.extend(batch.into_iter().map(|(id,)| LeadId(id)));
        if done {
            return Ok(changed);
        }
    }
}

/// Seconds, as Postgres' `make_interval` takes them.
fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// A timed pool's release as of now: leads received at or before `released_at` (its latest
/// release) enter the pool as of that instant; leads scoring `flash_min_score` or more at once.
#[derive(Debug, Clone)]
pub struct Release {
    pub pool: PoolId,
    pub released_at: Option<DateTime<Utc>>,
    pub flash_min_score: Option<i32>,
}

/// S1: releases the waiting leads of timed pools.
pub async fn release_scheduled(
    conn: &mut PgConnection,
    releases: &[Release],
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    const RELEASE: &str = concat!(
        "WITH cfg AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[]) AS c(pool, released_at, flash)), ",
        "due AS (SELECT l.id, (c.released_at IS NOT NULL AND l.received_at <= c.released_at) AS timed, c.released_at \
         FROM leads l JOIN cfg c ON c.pool = l.pool_id \
         WHERE l.state = 'scheduled' AND ((c.released_at IS NOT NULL AND l.received_at <= c.released_at) \
            OR (c.flash IS NOT NULL AND l.score >= c.flash)) \
         ORDER BY l.received_at, l.id LIMIT $6 FOR UPDATE OF l SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET state = 'available', \
           pooled_at = CASE WHEN due.timed THEN due.released_at ELSE $4 END, updated_at = $4 \
         FROM due WHERE l.id = due.id RETURNING l.id, l.pool_id, due.timed), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT id, 'scheduled', 'available', $5, CASE WHEN timed THEN 'timed release' ELSE 'flash release' END, \
         pool_id, NULL, $4 FROM changed) ",
        "SELECT id FROM changed"
    );
    let pools: Vec<&str> = releases.iter().map(|r| r.pool.as_str()).collect();
    let at: Vec<Option<DateTime<Utc>>> = releases.iter().map(|r| r.released_at).collect();
    let flash: Vec<Option<i32>> = releases.iter().map(|r| r.flash_min_score).collect();
    in_batches(conn, RELEASE, batch_size, |q| {
        q.bind(&pools).bind(&at).bind(&flash).bind(now).bind(actor)
    })
    .await
}

/// One pool's part in an age-based move: leads older than `after` go, with `reason` in their
/// history, to `to_pool` (or stay in their pool).
#[derive(Debug, Clone)]
pub struct AgeStep {
    pub pool: PoolId,
    pub after: chrono::Duration,
    pub reason: String,
    pub to_pool: Option<PoolId>,
}

/// Which age an [`AgeStep`] counts: time in the current pool, or since the lead was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeFrom {
    Pooled,
    Received,
}

/// One age-based move over every pool: leads in `from` states older than their pool's step
/// (counted per `age`) go to `to_state`.
#[derive(Debug, Clone, Copy)]
pub struct AgeOut<'a> {
    pub steps: &'a [AgeStep],
    pub age: AgeFrom,
    pub from: &'a [&'a str],
    pub to_state: &'a str,
}

/// S3 escalation, S5 refresh: moves unclaimed leads in `from` states that are older than their
/// pool's step into `to_state` (and the step's pool, if it names one, as of `now`).
pub async fn age_out(
    conn: &mut PgConnection,
    step: &AgeOut<'_>,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    let AgeOut {
        steps,
        age,
        from,
        to_state,
    } = *step;
    // The column is one of two fixed names, never input.
    let column = match age {
        AgeFrom::Pooled => "pooled_at",
        AgeFrom::Received => "received_at",
    };
    let sql = format!(
        "WITH cfg AS (SELECT * FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[]) AS c(pool, secs, reason, to_pool)), \
         due AS (SELECT l.id, l.state AS old_state, c.reason, COALESCE(c.to_pool, l.pool_id) AS new_pool \
           FROM leads l JOIN cfg c ON c.pool = l.pool_id \
           WHERE l.state = ANY($5) AND l.{column} <= $6 - make_interval(secs => c.secs) \
           ORDER BY l.{column}, l.id LIMIT $9 FOR UPDATE OF l SKIP LOCKED), \
         changed AS (UPDATE leads l SET state = $7, pool_id = due.new_pool, \
             pooled_at = CASE WHEN due.new_pool <> l.pool_id THEN $6 ELSE l.pooled_at END, updated_at = $6 \
           FROM due WHERE l.id = due.id RETURNING l.id, l.pool_id, due.old_state, due.reason), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, old_state, $7, $8, reason, pool_id, NULL, $6 FROM changed) \
         SELECT id FROM changed"
    );
    let pools: Vec<&str> = steps.iter().map(|s| s.pool.as_str()).collect();
    let secs: Vec<f64> = steps.iter().map(|s| seconds(s.after)).collect();
    let reasons: Vec<&str> = steps.iter().map(|s| s.reason.as_str()).collect();
    let to_pools: Vec<Option<&str>> = steps
        .iter()
        .map(|s| s.to_pool.as_ref().map(PoolId::as_str))
        .collect();
    in_batches(conn, &sql, batch_size, |q| {
        q.bind(&pools)
            .bind(&secs)
            .bind(&reasons)
            .bind(&to_pools)
            .bind(from)
            .bind(now)
            .bind(to_state)
            .bind(actor)
    })
    .await
}

/// S3 priority: a pool's available leads older than `top_half_after` are raised to the median
/// priority of the pool's younger leads, older than `top_tenth_after` to their 90th percentile.
/// Ties sort older first, so a raised lead ranks in the top half (tenth) of the pool.
#[derive(Debug, Clone)]
pub struct Boost {
    pub pool: PoolId,
    pub top_half_after: Option<chrono::Duration>,
    pub top_tenth_after: Option<chrono::Duration>,
}

pub async fn boost_aged(
    conn: &mut PgConnection,
    boosts: &[Boost],
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    // The comparison cohort is the leads younger than the first boost age: leads already raised
    // never raise the bar for each other, so running the job again changes nothing.
    const BOOST: &str = concat!(
        "WITH cfg AS (SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[]) AS c(pool, half, tenth)), ",
        "fresh AS (SELECT l.pool_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY l.priority) AS p50, \
           percentile_disc(0.9) WITHIN GROUP (ORDER BY l.priority) AS p90 \
         FROM leads l JOIN cfg c ON c.pool = l.pool_id \
         WHERE l.state = 'available' AND l.pooled_at > $4 - make_interval(secs => COALESCE(c.half, c.tenth)) \
         GROUP BY l.pool_id), ",
        "due AS (SELECT l.id, l.priority AS old_priority, x.new_priority, x.share \
         FROM leads l JOIN cfg c ON c.pool = l.pool_id JOIN fresh f ON f.pool_id = l.pool_id \
         CROSS JOIN LATERAL (SELECT \
           CASE WHEN c.tenth IS NOT NULL AND l.pooled_at <= $4 - make_interval(secs => c.tenth) THEN f.p90 ELSE f.p50 END AS new_priority, \
           CASE WHEN c.tenth IS NOT NULL AND l.pooled_at <= $4 - make_interval(secs => c.tenth) THEN 'top 10%' ELSE 'top 50%' END AS share) x \
         WHERE l.state = 'available' AND l.pooled_at <= $4 - make_interval(secs => COALESCE(c.half, c.tenth)) \
           AND x.new_priority > l.priority \
         ORDER BY l.pooled_at, l.id LIMIT $6 FOR UPDATE OF l SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET priority = due.new_priority, updated_at = $4 FROM due \
         WHERE l.id = due.id RETURNING l.id, l.pool_id, due.old_priority, due.new_priority, due.share), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT id, 'available', 'available', $5, \
           format('aged: priority %s → %s (%s of the pool)', old_priority, new_priority, share), pool_id, NULL, $4 FROM changed) ",
        "SELECT id FROM changed"
    );
    let pools: Vec<&str> = boosts.iter().map(|b| b.pool.as_str()).collect();
    let half: Vec<Option<f64>> = boosts
        .iter()
        .map(|b| b.top_half_after.map(seconds))
        .collect();
    let tenth: Vec<Option<f64>> = boosts
        .iter()
        .map(|b| b.top_tenth_after.map(seconds))
        .collect();
    in_batches(conn, BOOST, batch_size, |q| {
        q.bind(&pools)
            .bind(&half)
            .bind(&tenth)
            .bind(now)
            .bind(actor)
    })
    .await
}

/// An unclaimed lead due for forced assignment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueLead {
    pub id: Uuid,
    pub state: String,
    pub score: i32,
    pub region: String,
    pub country: String,
    pub product: String,
    pub industry: String,
    pub source: String,
    pub pooled_at: DateTime<Utc>,
}

/// S4: up to `limit` leads of `pool` (available or escalated) that entered it at or before
/// `entered_before`, oldest first, after `after` (keyset), locked for this transaction.
pub async fn due_for_assignment(
    conn: &mut PgConnection,
    pool: &PoolId,
    entered_before: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<DueLead>, Error> {
    sqlx::query_as::<_, DueLead>(
        "SELECT id, state, score, region, country, product, industry, source, pooled_at FROM leads \
         WHERE pool_id = $1 AND state IN ('available', 'escalated') AND pooled_at <= $2 \
           AND ($3::timestamptz IS NULL OR (pooled_at, id) > ($3, $4)) \
         ORDER BY pooled_at, id LIMIT $5 FOR UPDATE SKIP LOCKED",
    )
    .bind(pool.as_str())
    .bind(entered_before)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)
}

/// One forced assignment.
#[derive(Debug, Clone)]
pub struct ForcedAssignment {
    pub lead: LeadId,
    pub rep: RepId,
    pub reason: String,
}

/// S4: assigns each lead to its rep (state `assigned`, the pool's contact SLA running from
/// `now`) and counts the turns under `rule_key`, all in the caller's transaction.
pub async fn assign_forced(
    conn: &mut PgConnection,
    rule_key: &str,
    assignments: &[ForcedAssignment],
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Vec<LeadId>, Error> {
    if assignments.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = assignments.iter().map(|a| a.lead.0).collect();
    let reps: Vec<&str> = assignments.iter().map(|a| a.rep.as_str()).collect();
    let reasons: Vec<&str> = assignments.iter().map(|a| a.reason.as_str()).collect();
    let changed: Vec<(Uuid,)> = sqlx::query_as(
        "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, rep, reason)), \
         changed AS (UPDATE leads l SET state = 'assigned', owner_rep_id = i.rep, claimed_at = $4, \
             contact_due_at = $4 + make_interval(secs => p.contact_sla_seconds), updated_at = $4 \
           FROM input i, (SELECT id, state AS old_state FROM leads WHERE id = ANY($1)) old, pools p \
           WHERE l.id = i.id AND old.id = i.id AND p.id = l.pool_id AND l.state IN ('available', 'escalated') \
           RETURNING l.id, l.pool_id, old.old_state, i.rep, i.reason), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, old_state, 'assigned', $5, reason, pool_id, rep, $4 FROM changed), \
         counted AS (INSERT INTO assignment_counts (rule_key, rep_id, assigned) \
           SELECT $6, rep, count(*) FROM changed GROUP BY rep \
           ON CONFLICT (rule_key, rep_id) DO UPDATE SET assigned = assignment_counts.assigned + EXCLUDED.assigned) \
         SELECT id FROM changed",
    )
    .bind(&ids)
    .bind(&reps)
    .bind(&reasons)
    .bind(now)
    .bind(actor)
    .bind(rule_key)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(changed.into_iter().map(|(id,)| LeadId(id)).collect())
}

/// Serialises turn counting under `rule_key` with routing's assignments and other runs.
pub async fn lock_assignment_rule(conn: &mut PgConnection, rule_key: &str) -> Result<(), Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('assign:' || $1, 0))")
        .bind(rule_key)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Turn counts under `rule_key`, read in the caller's transaction.
pub async fn assignment_counts_in(
    conn: &mut PgConnection,
    rule_key: &str,
) -> Result<std::collections::HashMap<RepId, i64>, Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT rep_id, assigned FROM assignment_counts WHERE rule_key = $1")
            .bind(rule_key)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|(rep, n)| RepId::parse(&rep, "rep_id").ok().map(|rep| (rep, n)))
        .collect())
}

/// What duplicate cleanup compares: the same email, or the same company domain and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKey {
    Email,
    Company,
}

/// S5 weekly: among leads that are still live, every unowned lead (available, scheduled or
/// escalated) that duplicates an earlier one is rejected, naming the lead it duplicates.
pub async fn reject_duplicates(
    conn: &mut PgConnection,
    key: DuplicateKey,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    // Fixed expressions chosen by the enum, never input.
    let (expr, present) = match key {
        DuplicateKey::Email => ("lower(email)", "email <> ''"),
        DuplicateKey::Company => (
            "company_domain || '/' || lower(company)",
            "company_domain <> '' AND company <> ''",
        ),
    };
    let sql = format!(
        "WITH live AS (SELECT id, state, first_value(id) OVER (PARTITION BY {expr} ORDER BY received_at, id) AS original \
           FROM leads WHERE {present} AND state NOT IN ('received', 'rejected', 'archived')), \
         due AS (SELECT l.id, l.state AS old_state, live.original FROM live JOIN leads l ON l.id = live.id \
           WHERE live.id <> live.original AND live.state IN ('available', 'scheduled', 'escalated') \
           ORDER BY l.id LIMIT $3 FOR UPDATE OF l SKIP LOCKED), \
         changed AS (UPDATE leads l SET state = 'rejected', duplicate_of = due.original, \
             rejection_reason = 'duplicate of leads/' || due.original, updated_at = $1 \
           FROM due WHERE l.id = due.id RETURNING l.id, l.pool_id, due.old_state, l.rejection_reason), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, old_state, 'rejected', $2, 'weekly cleanup: ' || rejection_reason, pool_id, NULL, $1 FROM changed) \
         SELECT id FROM changed"
    );
    in_batches(conn, &sql, batch_size, |q| q.bind(now).bind(actor)).await
}

/// Available leads in `pool` right now, in the caller's transaction.
pub async fn pool_depth(conn: &mut PgConnection, pool: &PoolId) -> Result<i64, Error> {
    let (depth,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM leads WHERE pool_id = $1 AND state = 'available'")
            .bind(pool.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
    Ok(depth)
}

/// The pause in force on `pool`, if any: since when, and which sources.
pub async fn open_pause(
    conn: &mut PgConnection,
    pool: &PoolId,
) -> Result<Option<(DateTime<Utc>, Vec<String>)>, Error> {
    sqlx::query_as(
        "SELECT paused_at, sources FROM pool_pauses WHERE pool_id = $1 AND resumed_at IS NULL",
    )
    .bind(pool.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)
}

pub async fn pause_sources(
    conn: &mut PgConnection,
    pool: &PoolId,
    sources: &[String],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO pool_pauses (pool_id, sources, paused_at) VALUES ($1, $2, $3) \
         ON CONFLICT (pool_id) WHERE resumed_at IS NULL DO NOTHING",
    )
    .bind(pool.as_str())
    .bind(sources)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Ends the pause on `pool` and returns its held leads to the pool as of `now`.
pub async fn resume_sources(
    conn: &mut PgConnection,
    pool: &PoolId,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    sqlx::query("UPDATE pool_pauses SET resumed_at = $2 WHERE pool_id = $1 AND resumed_at IS NULL")
        .bind(pool.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    const RESUME: &str = concat!(
        "WITH due AS (SELECT id FROM leads WHERE pool_id = $1 AND state = 'scheduled' \
           ORDER BY received_at, id LIMIT $4 FOR UPDATE SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET state = 'available', pooled_at = $2, updated_at = $2 FROM due \
           WHERE l.id = due.id RETURNING l.id, l.pool_id), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, 'scheduled', 'available', $3, 'backpressure lifted: source resumed', pool_id, NULL, $2 FROM changed) ",
        "SELECT id FROM changed"
    );
    in_batches(conn, RESUME, batch_size, |q| {
        q.bind(pool.as_str()).bind(now).bind(actor)
    })
    .await
}

/// Holds back the leads from paused `sources` that entered `pool` since `since`.
pub async fn hold_sources(
    conn: &mut PgConnection,
    pool: &PoolId,
    sources: &[String],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    const HOLD: &str = concat!(
        "WITH due AS (SELECT id FROM leads WHERE pool_id = $1 AND state = 'available' \
           AND lower(source) = ANY($2) AND pooled_at >= $3 ORDER BY pooled_at, id LIMIT $6 FOR UPDATE SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET state = 'scheduled', updated_at = $4 FROM due \
           WHERE l.id = due.id RETURNING l.id, l.pool_id, l.source), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, 'available', 'scheduled', $5, \
             format('backpressure: pool critical, source %s paused', source), pool_id, NULL, $4 FROM changed) ",
        "SELECT id FROM changed"
    );
    in_batches(conn, HOLD, batch_size, |q| {
        q.bind(pool.as_str())
            .bind(sources)
            .bind(since)
            .bind(now)
            .bind(actor)
    })
    .await
}

/// S6 quota: records every rep (of `reps`, with their team's time zone) who claimed fewer than
/// `minimum` leads on the local day before the one containing `now`. Returns how many.
pub async fn record_quota_shortfalls(
    conn: &mut PgConnection,
    reps: &[(RepId, String)],
    minimum: u32,
    now: DateTime<Utc>,
) -> Result<i64, Error> {
    let ids: Vec<&str> = reps.iter().map(|(r, _)| r.as_str()).collect();
    let zones: Vec<&str> = reps.iter().map(|(_, tz)| tz.as_str()).collect();
    let result = sqlx::query(
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(rep, tz)), \
         days AS (SELECT rep, tz, (date_trunc('day', $3 AT TIME ZONE tz) - interval '1 day')::date AS day FROM input), \
         counted AS (SELECT d.rep, d.day, (SELECT count(*) FROM lead_events e WHERE e.rep_id = d.rep \
             AND e.to_state = 'claimed' AND e.from_state = 'available' \
             AND e.occurred_at >= (d.day::timestamp AT TIME ZONE d.tz) \
             AND e.occurred_at < ((d.day + 1)::timestamp AT TIME ZONE d.tz)) AS claims FROM days d) \
         INSERT INTO quota_shortfalls (rep_id, day, claims, minimum, recorded_at) \
         SELECT rep, day, claims, $4, $3 FROM counted WHERE claims < $4 \
         ON CONFLICT (rep_id, day) DO NOTHING",
    )
    .bind(&ids)
    .bind(&zones)
    .bind(now)
    .bind(i32::try_from(minimum).unwrap_or(i32::MAX))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// M1/M6 history: one depth row per pool in force, taken as of `at`. Returns how many.
pub async fn snapshot_pools(conn: &mut PgConnection, at: DateTime<Utc>) -> Result<i64, Error> {
    let result = sqlx::query(
        "INSERT INTO pool_snapshots (pool_id, taken_at, available, scheduled, escalated) \
         SELECT p.id, $1, count(l.id) FILTER (WHERE l.state = 'available'), \
           count(l.id) FILTER (WHERE l.state = 'scheduled'), count(l.id) FILTER (WHERE l.state = 'escalated') \
         FROM pools p LEFT JOIN leads l ON l.pool_id = p.id AND l.state IN ('available', 'scheduled', 'escalated') \
         WHERE NOT p.retired GROUP BY p.id",
    )
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}

/// Forgets job runs whose slot started before `before`, except each job's latest scheduled
/// slot (where catching up continues from). Returns how many.
pub async fn prune_job_runs(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<i64, Error> {
    let result = sqlx::query(
        "DELETE FROM job_runs r WHERE r.slot_start < $1 \
         AND NOT (r.trigger = 'schedule' AND r.slot_start = \
           (SELECT max(x.slot_start) FROM job_runs x WHERE x.job = r.job AND x.trigger = 'schedule'))",
    )
    .bind(before)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
}
