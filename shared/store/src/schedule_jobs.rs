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
use crate::records::LeadRecord;

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

/// A timed pool's release as of now: leads received at or before `released_at` (its latest
/// release) enter the pool as of that instant; leads scoring `flash_min_score` or more at once.
#[derive(Debug, Clone)]
pub struct Release {
    pub pool: PoolId,
    pub released_at: Option<DateTime<Utc>>,
    pub flash_min_score: Option<i32>,
}

/// S1: releases the waiting leads of timed pools. One pool per statement, so each batch is
/// an ordered scan of that pool's waiting leads (`leads_scheduled_by_received`).
pub async fn release_scheduled(
    conn: &mut PgConnection,
    releases: &[Release],
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    const RELEASE: &str = concat!(
        "WITH due AS (SELECT id, COALESCE(received_at <= $2, false) AS timed FROM leads \
           WHERE pool_id = $1 AND state = 'scheduled' AND (received_at <= $2 OR score >= $3) \
           ORDER BY received_at, id LIMIT $6 FOR UPDATE SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET state = 'available', \
           pooled_at = CASE WHEN due.timed THEN $2 ELSE $4 END, updated_at = $4 \
         FROM due WHERE l.id = due.id RETURNING l.id, l.pool_id, due.timed), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT id, 'scheduled', 'available', $5, CASE WHEN timed THEN 'timed release' ELSE 'flash release' END, \
         pool_id, NULL, $4 FROM changed) ",
        "SELECT id FROM changed"
    );
    let mut released = Vec::new();
    for r in releases {
        released.extend(
            in_batches(conn, RELEASE, batch_size, |q| {
                q.bind(r.pool.as_str())
                    .bind(r.released_at)
                    .bind(r.flash_min_score)
                    .bind(now)
                    .bind(actor)
            })
            .await?,
        );
    }
    Ok(released)
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

/// Which unclaimed leads an [`AgeOut`] moves, and by which age. Each variant matches a partial
/// index, so every batch is an ordered index scan that stops after the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeFrom {
    /// Available leads, by time in their pool (`leads_available_by_age`).
    AvailableByPoolAge,
    /// Available or escalated leads, by time since received (`leads_unclaimed_by_received`).
    UnclaimedByReceived,
}

/// One age-based move over every pool: leads older than their pool's step go to `to_state`.
#[derive(Debug, Clone, Copy)]
pub struct AgeOut<'a> {
    pub steps: &'a [AgeStep],
    pub age: AgeFrom,
    pub to_state: &'a str,
}

/// S3 escalation, S5 refresh: moves unclaimed leads older than their pool's step into
/// `to_state` (and into the step's pool, if it names one, as of `now`).
pub async fn age_out(
    conn: &mut PgConnection,
    step: &AgeOut<'_>,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    // Fixed SQL chosen by the enum, never input; the state lists are literals so the planner
    // can use the partial indexes.
    let (states, column) = match step.age {
        AgeFrom::AvailableByPoolAge => ("state = 'available'", "pooled_at"),
        AgeFrom::UnclaimedByReceived => ("state IN ('available', 'escalated')", "received_at"),
    };
    let sql = format!(
        "WITH due AS (SELECT id, state AS old_state FROM leads \
           WHERE pool_id = $1 AND {states} AND {column} <= $2 \
           ORDER BY {column}, id LIMIT $8 FOR UPDATE SKIP LOCKED), \
         changed AS (UPDATE leads l SET state = $3, pool_id = COALESCE($4, l.pool_id), \
             pooled_at = CASE WHEN $4::text IS NULL THEN l.pooled_at ELSE $5 END, updated_at = $5 \
           FROM due WHERE l.id = due.id RETURNING l.id, l.pool_id, due.old_state), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
           SELECT id, old_state, $3, $6, $7, pool_id, NULL, $5 FROM changed) \
         SELECT id FROM changed"
    );
    let mut moved = Vec::new();
    for s in step.steps {
        moved.extend(
            in_batches(conn, &sql, batch_size, |q| {
                q.bind(s.pool.as_str())
                    .bind(now - s.after)
                    .bind(step.to_state)
                    .bind(s.to_pool.as_ref().map(PoolId::as_str))
                    .bind(now)
                    .bind(actor)
                    .bind(s.reason.as_str())
            })
            .await?,
        );
    }
    Ok(moved)
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
    // The bar: percentiles of the leads younger than the first boost age, read once per run.
    // Leads already raised never raise the bar for each other, so a second run changes nothing.
    const BAR: &str = "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY priority), \
         percentile_disc(0.9) WITHIN GROUP (ORDER BY priority) \
         FROM leads WHERE pool_id = $1 AND state = 'available' AND pooled_at > $2";
    // Walks the old leads in (pooled_at, id) order, a window per statement; raises those below
    // their bar. The UPDATE re-checks the state, so a lead claimed meanwhile is left alone.
    const BOOST: &str = concat!(
        "WITH win AS (SELECT id, pooled_at, priority, \
           CASE WHEN pooled_at <= $3 THEN $5 ELSE $4 END AS target, \
           CASE WHEN pooled_at <= $3 THEN 'top 10%' ELSE 'top 50%' END AS share \
         FROM leads WHERE pool_id = $1 AND state = 'available' AND pooled_at <= $2 \
           AND ($6::timestamptz IS NULL OR (pooled_at, id) > ($6, $7)) \
         ORDER BY pooled_at, id LIMIT $10), ",
        "changed AS (UPDATE leads l SET priority = w.target, updated_at = $8 FROM win w \
         WHERE l.id = w.id AND w.target > w.priority AND l.state = 'available' \
         RETURNING l.id, l.pool_id, w.priority AS old_priority, w.target AS new_priority, w.share), ",
        "event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT id, 'available', 'available', $9, \
           format('aged: priority %s → %s (%s of the pool)', old_priority, new_priority, share), pool_id, NULL, $8 \
         FROM changed), ",
        "last AS (SELECT pooled_at, id FROM win ORDER BY pooled_at DESC, id DESC LIMIT 1) ",
        "SELECT (SELECT count(*) FROM win), (SELECT pooled_at FROM last), (SELECT id FROM last), \
           COALESCE((SELECT array_agg(id) FROM changed), '{}')"
    );
    let mut raised = Vec::new();
    for b in boosts {
        let (Some(first), tenth) = (b.top_half_after.or(b.top_tenth_after), b.top_tenth_after)
        else {
            continue;
        };
        let (p50, p90): (Option<i32>, Option<i32>) = sqlx::query_as(BAR)
            .bind(b.pool.as_str())
            .bind(now - first)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        let (Some(p50), Some(p90)) = (p50, p90) else {
            continue; // no younger leads: nothing to rank against
        };
        // Without a top-half step every old lead goes straight to the top tenth.
        let p50 = if b.top_half_after.is_some() { p50 } else { p90 };
        // No top-tenth step: a cutoff no lead reaches.
        let tenth_cutoff = tenth.map_or(DateTime::<Utc>::MIN_UTC, |t| now - t);
        let mut cursor: (Option<DateTime<Utc>>, Option<Uuid>) = (None, None);
        loop {
            let (scanned, last_at, last_id, changed): (
                i64,
                Option<DateTime<Utc>>,
                Option<Uuid>,
                Vec<Uuid>,
            ) = sqlx::query_as(BOOST)
                .bind(b.pool.as_str())
                .bind(now - first)
                .bind(tenth_cutoff)
                .bind(p50)
                .bind(p90)
                .bind(cursor.0)
                .bind(cursor.1)
                .bind(now)
                .bind(actor)
                .bind(batch_size)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
            raised.extend(changed.into_iter().map(LeadId));
            if scanned < batch_size {
                break;
            }
            cursor = (last_at, last_id);
        }
    }
    Ok(raised)
}

/// S4: up to `limit` leads of `pool` (available or escalated) that entered it at or before
/// `entered_before`, oldest first, after `after` (keyset), locked for this transaction.
pub async fn due_for_assignment(
    conn: &mut PgConnection,
    pool: &PoolId,
    entered_before: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<LeadRecord>, Error> {
    sqlx::query_as::<_, LeadRecord>(
        "SELECT * FROM leads \
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
