//! The scheduler's lead moves (S1–S6), as methods of the job run's transaction, so each
//! commits with the run that claimed its slot. Each is set-based SQL applied in batches, and
//! each moved lead gets its history row in the same statement (`transition!`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{
    AssignedBy, AvailabilitySetting, Error, EventKind, Lead, LeadId, PoolId, RepId,
};
use uuid::Uuid;

use super::JobTx;
use crate::error::db_error;
use crate::rows;

/// Runs a move returning the ids it changed (its batch size a parameter) until a batch comes back
/// short; evaluates to every id moved.
///
/// The move walks an ordered index scan (`transition!(resuming: …)`) and each batch starts
/// after the (`resume_at`, `id`) of the last lead the batch before it moved, which `$query`
/// reads from `after` (a [`ScanPosition`]). A lead a batch moved keeps its entry in that index
/// until the run commits (dead to the run, but only vacuum removes it), so a scan from the
/// start would step over every lead moved so far: each batch slower than the one before
/// (docs/benchmarks.md, "Scheduler jobs"). A lead that someone else held locked as its batch
/// passed it (`SKIP LOCKED`) is left for the next run.
macro_rules! in_batches {
    ($tx:expr, $batch:expr, $after:ident => $query:expr) => {{
        let mut moved: Vec<LeadId> = Vec::new();
        let mut $after = ScanPosition::default();
        loop {
            let rows = $query.fetch_all(&mut *$tx).await.map_err(db_error)?;
            let done = (rows.len() as i64) < $batch;
            if let Some((at, id)) = rows.iter().map(|r| (r.resume_at, r.id)).max() {
                $after = ScanPosition {
                    at: Some(at),
                    id: Some(id),
                };
            }
            moved.extend(rows.into_iter().map(|r| LeadId(r.id)));
            if done {
                break moved;
            }
        }
    }};
}

/// Where a batched move's ordered scan resumes: after the lead with this scan key and id, the
/// last one the batch before moved; both `None` before the first batch (from the start).
#[derive(Debug, Clone, Copy, Default)]
struct ScanPosition {
    at: Option<DateTime<Utc>>,
    id: Option<Uuid>,
}

/// A live unowned lead that duplicates an earlier one, its `original`.
struct DuplicatePair {
    duplicate: Uuid,
    original: Uuid,
}

/// A timed pool's release as of now: leads received at or before `released_at` (its latest
/// release) enter the pool as of that instant; leads scoring `flash_min_score` or more at once.
#[derive(Debug, Clone)]
pub struct Release {
    pub pool: PoolId,
    pub released_at: Option<DateTime<Utc>>,
    pub flash_min_score: Option<i32>,
}

/// One pool's part in an age-based move: leads older than `after` go, with `reason` in their
/// history, to `to_pool` (or stay in their pool).
#[derive(Debug, Clone)]
pub struct AgeStep {
    pub pool: PoolId,
    /// The step's age back from now on the pool's lifecycle clock: leads that entered the pool
    /// at or before it are due.
    pub entered_before: DateTime<Utc>,
    pub reason: String,
    pub to_pool: Option<PoolId>,
}

/// Which unclaimed leads an [`AgeOut`] moves, and by which age. Each variant matches a partial
/// index, so every batch is an ordered index scan that stops after the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeFrom {
    /// Available leads, by time in their pool (`leads_available_by_age`).
    AvailableByPoolAge,
    /// Available or escalated leads, by time in their pool (`leads_unclaimed_by_age`).
    UnclaimedByPoolAge,
}

/// One age-based move over every pool: leads older than their pool's step go to `to_state`.
#[derive(Debug, Clone, Copy)]
pub struct AgeOut<'a> {
    pub steps: &'a [AgeStep],
    pub age: AgeFrom,
    pub to_state: &'a str,
    /// What the move is, in the history.
    pub kind: EventKind,
}

/// S3 places: a pool's available leads that entered it at or before `top_half_before` rank at
/// least at the median priority of the pool's younger leads, at or before `top_tenth_before` at
/// least at their 90th percentile (the instants are the step ages back from now on the pool's
/// lifecycle clock). Ties sort older first, so an aged lead ranks in the top half (tenth). The
/// place is derived when leads are read (`pool_aging`, migration 0019): aging writes the
/// pool's bars and cutoffs, not its leads.
#[derive(Debug, Clone)]
pub struct AgingPlaces {
    pub pool: PoolId,
    pub top_half_before: Option<DateTime<Utc>>,
    pub top_tenth_before: Option<DateTime<Utc>>,
}

/// How a lifecycle step pushes a lead to a rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// S4: no choice.
    Forced,
    /// P3: to a rep of lower seniority, who may reject it.
    Overflow,
}

impl Push {
    pub fn kind(self) -> EventKind {
        match self {
            Self::Forced => EventKind::ForceAssigned,
            Self::Overflow => EventKind::Overflowed,
        }
    }

    pub fn assigned_by(self) -> AssignedBy {
        match self {
            Self::Forced => AssignedBy::Forced,
            Self::Overflow => AssignedBy::Overflow,
        }
    }

    /// Whether the rep may turn it down (and it counts towards her acceptance).
    pub fn rejectable(self) -> bool {
        self == Self::Overflow
    }
}

/// One forced assignment.
#[derive(Debug, Clone)]
pub struct ForcedAssignment {
    pub lead: LeadId,
    pub rep: RepId,
    pub reason: String,
    /// When she must have accepted it (the pool's acceptance clock).
    pub due: DateTime<Utc>,
}

/// What duplicate cleanup compares: the same email, or the same company domain and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKey {
    Email,
    Company,
}

impl JobTx {
    /// S1: releases the waiting leads of timed pools. One pool per statement, so each batch is
    /// an ordered scan of that pool's waiting leads (`leads_scheduled_by_received`).
    pub async fn release_scheduled(
        &mut self,
        releases: &[Release],
        now: DateTime<Utc>,
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let mut released = Vec::new();
        for r in releases {
            released.extend(in_batches!(
                self.tx,
                batch,
                after => transition!(resuming:
                    "WITH due AS (SELECT id, COALESCE(received_at <= $2, false) AS timed, \
                         received_at AS resume_at FROM leads \
                       WHERE pool_id = $1 AND state = 'scheduled' AND (received_at <= $2 OR score >= $3) \
                         AND (received_at, id) > (COALESCE($7, '-infinity'::timestamptz), \
                           COALESCE($8, '00000000-0000-0000-0000-000000000000'::uuid)) \
                       ORDER BY received_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
                     UPDATE leads l SET state = 'available', \
                       pooled_at = CASE WHEN due.timed THEN $2 ELSE $4 END, updated_at = $4 \
                     FROM due WHERE l.id = due.id \
                     RETURNING l.*, 'scheduled'::text AS old_state, due.timed, due.resume_at",
                    "'lead.pool_released', $5, \
                     CASE WHEN timed THEN 'timed release' ELSE 'flash release' END, pool_id, NULL, $4, false",
                    r.pool.as_str(),
                    r.released_at,
                    r.flash_min_score,
                    now,
                    actor,
                    batch,
                    after.at,
                    after.id
                )
            ));
        }
        Ok(released)
    }

    /// S2: takes back the leads whose owner missed the deadline at or before `now`: claimed
    /// leads not contacted in time and assigned leads not accepted in time. They return to
    /// their pool (or to routing, without one) — except a forced assignment ("no choice"),
    /// which goes to the managers' escalation queue: the pool had its chance, and the forced
    /// step is taken once per stay in a pool (`due_for_assignment`).
    /// An assignment that expires while its rep is off duty (one of `off_duty`) is excused:
    /// it does not count against her acceptance.
    pub async fn expire_contact_slas(
        &mut self,
        now: DateTime<Utc>,
        off_duty: &[RepId],
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let off_duty: Vec<&str> = off_duty.iter().map(RepId::as_str).collect();
        // One ordered scan of claimed and assigned leads by deadline (`leads_held_by_deadline`).
        Ok(in_batches!(
            self.tx,
            batch,
            after => transition!(resuming:
                "WITH due AS (SELECT id, state AS old_state, owner_rep_id, rejectable, \
                     assigned_by = 'forced' AS forced, contact_due_at AS resume_at FROM leads \
                   WHERE state IN ('claimed', 'assigned') AND contact_due_at <= $1 \
                     AND (contact_due_at, id) > (COALESCE($5, '-infinity'::timestamptz), \
                       COALESCE($6, '00000000-0000-0000-0000-000000000000'::uuid)) \
                   ORDER BY contact_due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE leads l SET \
                   state = CASE WHEN l.pool_id IS NULL THEN 'received' \
                     WHEN due.forced THEN 'escalated' ELSE 'available' END, \
                   pooled_at = CASE WHEN l.pool_id IS NULL THEN NULL ELSE COALESCE(l.pooled_at, $1) END, \
                   owner_rep_id = NULL, claimed_at = NULL, contact_due_at = NULL, \
                   rejectable = false, updated_at = $1 \
                 FROM due WHERE l.id = due.id \
                 RETURNING l.*, due.old_state, due.owner_rep_id AS lost_by, \
                   due.rejectable AS was_rejectable, due.forced, due.resume_at",
                "CASE old_state WHEN 'claimed' THEN 'lead.sla_expired' ELSE 'lead.assignment_expired' END, \
                 $2, CASE WHEN forced AND state = 'escalated' \
                     THEN 'forced assignment not worked in time: to the managers'' escalation queue' \
                   WHEN old_state = 'claimed' THEN 'contact SLA expired' \
                   ELSE 'assignment not accepted in time' END, pool_id, lost_by, $1, \
                 old_state = 'assigned' AND (NOT was_rejectable OR lost_by = ANY($4))",
                now,
                actor,
                batch,
                &off_duty as &[&str],
                after.at,
                after.id
            )
        ))
    }

    /// S3 escalation, S5 refresh: moves unclaimed leads older than their pool's step into
    /// `to_state` (and into the step's pool, if it names one, as of `now`).
    pub async fn age_out(
        &mut self,
        step: &AgeOut<'_>,
        now: DateTime<Utc>,
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let mut moved = Vec::new();
        for s in step.steps {
            let (cutoff, to_pool) = (s.entered_before, s.to_pool.as_ref().map(PoolId::as_str));
            // One statement per age kind: the state lists are literals so the planner uses
            // the matching partial index.
            moved.extend(match step.age {
                AgeFrom::AvailableByPoolAge => in_batches!(
                    self.tx,
                    batch,
                    after => transition!(resuming:
                        "WITH due AS (SELECT id, state AS old_state, pooled_at AS resume_at FROM leads \
                           WHERE pool_id = $1 AND state = 'available' AND pooled_at <= $2 \
                             AND (pooled_at, id) > (COALESCE($10, '-infinity'::timestamptz), \
                               COALESCE($11, '00000000-0000-0000-0000-000000000000'::uuid)) \
                           ORDER BY pooled_at, id LIMIT $8 FOR UPDATE SKIP LOCKED) \
                         UPDATE leads l SET state = $3, pool_id = COALESCE($4, l.pool_id), \
                           pooled_at = CASE WHEN $4::text IS NULL THEN l.pooled_at ELSE $5 END, \
                           updated_at = $5 \
                         FROM due WHERE l.id = due.id RETURNING l.*, due.old_state, due.resume_at",
                        "$9, $6, $7, pool_id, NULL, $5, false",
                        s.pool.as_str(),
                        cutoff,
                        step.to_state,
                        to_pool,
                        now,
                        actor,
                        s.reason.as_str(),
                        batch,
                        step.kind.as_str(),
                        after.at,
                        after.id
                    )
                ),
                AgeFrom::UnclaimedByPoolAge => in_batches!(
                    self.tx,
                    batch,
                    after => transition!(resuming:
                        "WITH due AS (SELECT id, state AS old_state, pooled_at AS resume_at FROM leads \
                           WHERE pool_id = $1 AND state IN ('available', 'escalated') \
                             AND pooled_at <= $2 \
                             AND (pooled_at, id) > (COALESCE($10, '-infinity'::timestamptz), \
                               COALESCE($11, '00000000-0000-0000-0000-000000000000'::uuid)) \
                           ORDER BY pooled_at, id LIMIT $8 FOR UPDATE SKIP LOCKED) \
                         UPDATE leads l SET state = $3, pool_id = COALESCE($4, l.pool_id), \
                           pooled_at = CASE WHEN $4::text IS NULL THEN l.pooled_at ELSE $5 END, \
                           updated_at = $5 \
                         FROM due WHERE l.id = due.id RETURNING l.*, due.old_state, due.resume_at",
                        "$9, $6, $7, pool_id, NULL, $5, false",
                        s.pool.as_str(),
                        cutoff,
                        step.to_state,
                        to_pool,
                        now,
                        actor,
                        s.reason.as_str(),
                        batch,
                        step.kind.as_str(),
                        after.at,
                        after.id
                    )
                ),
            });
        }
        Ok(moved)
    }

    /// S3 places (see [`AgingPlaces`]): one row per pool, the bars and cutoffs its reads rank
    /// available leads by. A pool with neither step loses its row; a pool with no leads younger
    /// than its first step keeps the row of its last run (there is nothing to rank against).
    pub async fn place_aged(
        &mut self,
        places: &[AgingPlaces],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        for steps in places {
            // The younger step's cutoff is the later instant.
            let Some(first) = steps.top_half_before.or(steps.top_tenth_before) else {
                sqlx::query!(
                    "DELETE FROM pool_aging WHERE pool_id = $1",
                    steps.pool.as_str()
                )
                .execute(&mut *self.tx)
                .await
                .map_err(db_error)?;
                continue;
            };
            // The bars: percentiles of the leads younger than the first step, so that aged
            // leads never raise the bar for each other. Without a top-half step every old lead
            // goes straight to the top tenth (one place: both bars the 90th percentile); without
            // a top-tenth step no lead reaches it ('-infinity'). Equal bars are one place, so
            // the cutoffs are made equal too (the table's `equal_bars_are_one_place`).
            sqlx::query!(
                "INSERT INTO pool_aging (pool_id, half_bar, tenth_bar, half_before, tenth_before, aged_at) \
                 SELECT $1, half_bar, tenth_bar, $2::timestamptz, \
                   CASE WHEN half_bar = tenth_bar THEN $2::timestamptz \
                     ELSE COALESCE($3::timestamptz, '-infinity') END, $5 \
                 FROM (SELECT CASE WHEN $4::bool THEN p50 ELSE p90 END AS half_bar, p90 AS tenth_bar \
                   FROM (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY priority) AS p50, \
                       percentile_disc(0.9) WITHIN GROUP (ORDER BY priority) AS p90 \
                     FROM leads WHERE pool_id = $1 AND state = 'available' AND pooled_at > $2) p \
                   WHERE p90 IS NOT NULL) bars \
                 ON CONFLICT (pool_id) DO UPDATE SET half_bar = excluded.half_bar, \
                   tenth_bar = excluded.tenth_bar, half_before = excluded.half_before, \
                   tenth_before = excluded.tenth_before, aged_at = excluded.aged_at",
                steps.pool.as_str(),
                first,
                steps.top_tenth_before,
                steps.top_half_before.is_some(),
                now
            )
            .execute(&mut *self.tx)
            .await
            .map_err(db_error)?;
        }
        Ok(())
    }

    /// What SetRepAvailability set, as this run sees it.
    pub async fn availability_settings(&mut self) -> Result<Vec<AvailabilitySetting>, Error> {
        crate::availability::settings(&mut *self.tx).await
    }

    /// Serialises turn counting under `rule_key` with routing's assignments and other runs.
    pub async fn lock_assignment_rule(&mut self, rule_key: &str) -> Result<(), Error> {
        crate::routing::lock_assignment_rule(&mut self.tx, rule_key).await
    }

    /// Takes `rep`'s claim lock until the run commits, unless someone holds it now (`false`):
    /// the run holds lead row locks, so it never waits for a rep (see `claim::try_lock_rep`).
    pub async fn try_lock_rep(&mut self, rep: &RepId) -> Result<bool, Error> {
        crate::claim::try_lock_rep(&mut self.tx, rep).await
    }

    /// The open leads `rep` holds, in total and from `pool`.
    pub async fn open_lead_counts(
        &mut self,
        rep: &RepId,
        pool: &PoolId,
    ) -> Result<(i64, i64), Error> {
        crate::claim::open_lead_counts(&mut self.tx, rep, Some(pool)).await
    }

    /// Records why these leads wait (see [`crate::Store::record_waiting`]).
    pub async fn record_waiting(
        &mut self,
        waits: &[(LeadId, String)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        crate::leads::record_waiting(&mut self.tx, waits, actor, now).await
    }

    /// Turn counts under `rule_key`.
    pub async fn assignment_counts(
        &mut self,
        rule_key: &str,
    ) -> Result<HashMap<RepId, i64>, Error> {
        crate::routing::assignment_counts(&mut *self.tx, rule_key, None).await
    }

    /// S4: up to `limit` leads of `pool` (available or escalated) that entered it at or before
    /// `entered_before` and were not force-assigned since, oldest first, after `after`
    /// (keyset), locked for this run.
    pub async fn due_for_assignment(
        &mut self,
        pool: &PoolId,
        push: Push,
        entered_before: DateTime<Utc>,
        after: Option<(DateTime<Utc>, LeadId)>,
        limit: i64,
    ) -> Result<Vec<Lead>, Error> {
        let rows = lead_rows!(
            [
                "out AS (SELECT * FROM leads l \
                 WHERE pool_id = $1 AND state IN ('available', 'escalated') AND pooled_at <= $2 \
                   AND ($3::timestamptz IS NULL OR (pooled_at, id) > ($3, $4)) \
                   AND NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = l.id \
                     AND e.kind = $6 AND e.occurred_at >= l.pooled_at) \
                 ORDER BY pooled_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)"
            ]
            order by "pooled_at, id",
            pool.as_str(),
            entered_before,
            after.map(|(at, _)| at),
            after.map(|(_, id)| id.0),
            limit,
            push.kind().as_str()
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows::leads(rows)
    }

    /// S4, P3: assigns each lead to its rep (state `assigned`, to be accepted by its `due`) as
    /// `push` says, and counts the turns under `rule_key`.
    pub async fn push_assigned(
        &mut self,
        push: Push,
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
        let dues: Vec<DateTime<Utc>> = assignments.iter().map(|a| a.due).collect();
        let assigned = transition!(ids:
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $6::timestamptz[]) \
                 AS t(id, rep, reason, due)), \
               old AS (SELECT id, state AS old_state FROM leads WHERE id = ANY($1)) \
             UPDATE leads l SET state = 'assigned', owner_rep_id = i.rep, claimed_at = $4::timestamptz, \
               assigned_by = $7, rejectable = $8, contact_due_at = i.due, \
               updated_at = $4::timestamptz \
             FROM input i, old \
             WHERE l.id = i.id AND old.id = i.id AND l.state IN ('available', 'escalated') \
             RETURNING l.*, old.old_state, i.reason AS assign_reason",
            "$9, $5, assign_reason, pool_id, owner_rep_id, $4, false",
            &ids,
            &reps as &[&str],
            &reasons as &[&str],
            now,
            actor,
            &dues,
            push.assigned_by().as_str(),
            push.rejectable(),
            push.kind().as_str()
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let assigned: Vec<LeadId> = assigned.into_iter().map(LeadId).collect();
        let turns: Vec<RepId> = assignments
            .iter()
            .filter(|a| assigned.contains(&a.lead))
            .map(|a| a.rep.clone())
            .collect();
        crate::routing::count_turns(&mut self.tx, rule_key, &turns).await?;
        Ok(assigned)
    }

    /// S5 weekly: among leads that are still live, every unowned lead (available, scheduled or
    /// escalated) that duplicates an earlier one is rejected, naming the lead it duplicates.
    /// The duplicates are found once, over every live lead; they are then rejected in batches,
    /// each checking on the row it locks that the lead is still unowned (Postgres checks again
    /// on the newest version of a row changed since), so a lead a rep claimed meanwhile stays
    /// hers, and one someone holds locked is left for the next run.
    pub async fn reject_duplicates(
        &mut self,
        key: DuplicateKey,
        now: DateTime<Utc>,
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let pairs = match key {
            DuplicateKey::Email => {
                sqlx::query_as!(
                    DuplicatePair,
                    r#"SELECT id AS "duplicate!", original AS "original!" FROM (
                         SELECT l.id, l.state, first_value(l.id) OVER
                           (PARTITION BY lower(c.email) ORDER BY l.received_at, l.id) AS original
                         FROM leads l JOIN lead_contacts c USING (id) WHERE c.email <> ''
                           AND l.state IN ('scheduled', 'available', 'escalated', 'claimed', 'assigned', 'contacted')
                       ) live
                       WHERE id <> original AND state IN ('available', 'scheduled', 'escalated')"#
                )
                .fetch_all(&mut *self.tx)
                .await
            }
            DuplicateKey::Company => {
                sqlx::query_as!(
                    DuplicatePair,
                    r#"SELECT id AS "duplicate!", original AS "original!" FROM (
                         SELECT l.id, l.state, first_value(l.id) OVER
                           (PARTITION BY c.company_domain || '/' || lower(c.company)
                             ORDER BY l.received_at, l.id) AS original
                         FROM leads l JOIN lead_contacts c USING (id)
                         WHERE c.company_domain <> '' AND c.company <> ''
                           AND l.state IN ('scheduled', 'available', 'escalated', 'claimed', 'assigned', 'contacted')
                       ) live
                       WHERE id <> original AND state IN ('available', 'scheduled', 'escalated')"#
                )
                .fetch_all(&mut *self.tx)
                .await
            }
        }
        .map_err(db_error)?;
        let mut rejected = Vec::new();
        for chunk in pairs.chunks(usize::try_from(batch.max(1)).unwrap_or(usize::MAX)) {
            let duplicates: Vec<Uuid> = chunk.iter().map(|p| p.duplicate).collect();
            let originals: Vec<Uuid> = chunk.iter().map(|p| p.original).collect();
            let ids = transition!(ids:
                "WITH due AS (SELECT l.id, l.state AS old_state, p.original \
                   FROM unnest($3::uuid[], $4::uuid[]) AS p (id, original) JOIN leads l ON l.id = p.id \
                   WHERE l.state IN ('available', 'scheduled', 'escalated') \
                   FOR UPDATE OF l SKIP LOCKED) \
                 UPDATE leads l SET state = 'rejected', duplicate_of = due.original, \
                   rejection_reason = 'duplicate of leads/' || due.original, updated_at = $1 \
                 FROM due WHERE l.id = due.id RETURNING l.*, due.old_state",
                "'lead.rejected', $2, 'weekly cleanup: ' || rejection_reason, pool_id, NULL, $1, false",
                now,
                actor,
                &duplicates,
                &originals
            )
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
            rejected.extend(ids.into_iter().map(LeadId));
        }
        Ok(rejected)
    }

    /// Available leads in `pool` right now.
    pub async fn pool_depth(&mut self, pool: &PoolId) -> Result<i64, Error> {
        sqlx::query_scalar!(
            r#"SELECT count(*) AS "depth!" FROM leads WHERE pool_id = $1 AND state = 'available'"#,
            pool.as_str()
        )
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)
    }

    /// The pause in force on `pool`, if any: since when, and which sources.
    pub async fn open_pause(
        &mut self,
        pool: &PoolId,
    ) -> Result<Option<(DateTime<Utc>, Vec<String>)>, Error> {
        let pause = sqlx::query!(
            "SELECT paused_at, sources FROM pool_pauses WHERE pool_id = $1 AND resumed_at IS NULL",
            pool.as_str()
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(pause.map(|p| (p.paused_at, p.sources)))
    }

    /// S6: starts holding back `sources` on `pool`.
    pub async fn pause_sources(
        &mut self,
        pool: &PoolId,
        sources: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query!(
            "INSERT INTO pool_pauses (pool_id, sources, paused_at) VALUES ($1, $2, $3) \
             ON CONFLICT (pool_id) WHERE resumed_at IS NULL DO NOTHING",
            pool.as_str(),
            sources,
            now
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Ends the pause on `pool` and returns its held leads to the pool as of `now`.
    pub async fn resume_sources(
        &mut self,
        pool: &PoolId,
        now: DateTime<Utc>,
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        sqlx::query!(
            "UPDATE pool_pauses SET resumed_at = $2 WHERE pool_id = $1 AND resumed_at IS NULL",
            pool.as_str(),
            now
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(in_batches!(
            self.tx,
            batch,
            after => transition!(resuming:
                "WITH due AS (SELECT id, received_at AS resume_at FROM leads \
                   WHERE pool_id = $1 AND state = 'scheduled' \
                     AND (received_at, id) > (COALESCE($5, '-infinity'::timestamptz), \
                       COALESCE($6, '00000000-0000-0000-0000-000000000000'::uuid)) \
                   ORDER BY received_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE leads l SET state = 'available', pooled_at = $2, updated_at = $2 FROM due \
                 WHERE l.id = due.id RETURNING l.*, 'scheduled'::text AS old_state, due.resume_at",
                "'lead.resumed', $3, 'backpressure lifted: source resumed', pool_id, NULL, $2, false",
                pool.as_str(),
                now,
                actor,
                batch,
                after.at,
                after.id
            )
        ))
    }

    /// Holds back the leads from paused `sources` that entered `pool` since `since`.
    pub async fn hold_sources(
        &mut self,
        pool: &PoolId,
        sources: &[String],
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        actor: &str,
        batch: i64,
    ) -> Result<Vec<LeadId>, Error> {
        Ok(in_batches!(
            self.tx,
            batch,
            after => transition!(resuming:
                "WITH due AS (SELECT id, pooled_at AS resume_at FROM leads \
                   WHERE pool_id = $1 AND state = 'available' \
                   AND lower(source) = ANY($2) AND pooled_at >= $3 \
                   AND (pooled_at, id) > (COALESCE($7, '-infinity'::timestamptz), \
                     COALESCE($8, '00000000-0000-0000-0000-000000000000'::uuid)) \
                   ORDER BY pooled_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
                 UPDATE leads l SET state = 'scheduled', updated_at = $4 FROM due \
                 WHERE l.id = due.id RETURNING l.*, 'available'::text AS old_state, due.resume_at",
                "'lead.held', $5, format('backpressure: pool critical, source %s paused', source), \
                 pool_id, NULL, $4, false",
                pool.as_str(),
                sources,
                since,
                now,
                actor,
                batch,
                after.at,
                after.id
            )
        ))
    }

    /// S6 quota: records every rep (of `reps`, with their team's time zone) who claimed fewer
    /// than `minimum` leads on the local day before the one containing `now`. Returns how many.
    pub async fn record_quota_shortfalls(
        &mut self,
        reps: &[(RepId, String)],
        minimum: u32,
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        let ids: Vec<&str> = reps.iter().map(|(r, _)| r.as_str()).collect();
        let zones: Vec<&str> = reps.iter().map(|(_, tz)| tz.as_str()).collect();
        let result = sqlx::query!(
            "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(rep, tz)), \
             days AS (SELECT rep, tz, (date_trunc('day', $3 AT TIME ZONE tz) - interval '1 day')::date AS day FROM input), \
             counted AS (SELECT d.rep, d.day, (SELECT count(*) FROM lead_events e WHERE e.rep_id = d.rep \
                 AND e.to_state = 'claimed' AND e.from_state = 'available' \
                 AND e.occurred_at >= (d.day::timestamp AT TIME ZONE d.tz) \
                 AND e.occurred_at < ((d.day + 1)::timestamp AT TIME ZONE d.tz)) AS claims FROM days d) \
             INSERT INTO quota_shortfalls (rep_id, day, claims, minimum, recorded_at) \
             SELECT rep, day, claims, $4::int, $3 FROM counted WHERE claims < $4::int \
             ON CONFLICT (rep_id, day) DO NOTHING",
            &ids as &[&str],
            &zones as &[&str],
            now,
            i32::try_from(minimum).unwrap_or(i32::MAX)
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
    }

    /// M1/M6 history: one depth row per pool in force, taken as of `at`. Returns how many.
    pub async fn snapshot_pools(&mut self, at: DateTime<Utc>) -> Result<i64, Error> {
        let result = sqlx::query!(
            "INSERT INTO pool_snapshots (pool_id, taken_at, available, scheduled, escalated) \
             SELECT p.id, $1, count(l.id) FILTER (WHERE l.state = 'available'), \
               count(l.id) FILTER (WHERE l.state = 'scheduled'), count(l.id) FILTER (WHERE l.state = 'escalated') \
             FROM pools p LEFT JOIN leads l ON l.pool_id = p.id AND l.state IN ('available', 'scheduled', 'escalated') \
             WHERE NOT p.retired GROUP BY p.id",
            at
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
    }

    /// Forgets job runs whose slot started before `before`, except each job's latest scheduled
    /// slot (where catching up continues from). Returns how many.
    pub async fn prune_job_runs(&mut self, before: DateTime<Utc>) -> Result<i64, Error> {
        let result = sqlx::query!(
            "DELETE FROM job_runs r WHERE r.slot_start < $1 \
             AND NOT (r.trigger = 'schedule' AND r.slot_start = \
               (SELECT max(x.slot_start) FROM job_runs x WHERE x.job = r.job AND x.trigger = 'schedule'))",
            before
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(i64::try_from(result.rows_affected()).unwrap_or(i64::MAX))
    }
}
