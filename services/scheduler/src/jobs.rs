//! The jobs: each a function of (database state, policy, now), applied inside the transaction
//! that records its run. The SQL lives in `leadpool_store::schedule_jobs`; this module decides,
//! from the policy, what each job asks of it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, EventKind, LeadId};
use leadpool_policy::Policy;
use leadpool_store::{self as sql, JobTx};

use crate::config::SchedulerConfig;
use crate::forced;
use crate::history::{ACTOR, span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// S1: releases timed pools on their schedule, flash leads at once.
    Release,
    /// S2: returns claimed leads not contacted within their pool's SLA to the pool.
    SlaExpiry,
    /// S3: aging places (the pool's bars, read with its leads), escalation to a manager.
    Aging,
    /// S4: assigns leads unclaimed too long to the next available rep.
    ForcedAssignment,
    /// S5 daily: old leads to the priority pool, to nurture, archived.
    DailyRefresh,
    /// S5 weekly: removes duplicates (and prunes old job runs).
    WeeklyCleanup,
    /// S6: holds back low-priority sources while a pool is critical.
    Backpressure,
    /// S6: records reps below their daily claim quota.
    ClaimQuota,
    /// M1/M6: a depth snapshot of every pool.
    PoolSnapshot,
    /// A3: rates every rep's performance from her results, if the policy says how.
    PerformanceRating,
    /// C5: warns (as an event) of contact deadlines about to pass.
    ContactWarnings,
    /// M7: pool alerts that started or stopped, as events.
    AlertEvents,
}

/// What a run changed: leads moved, and other rows written (snapshots, quota shortfalls).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub leads: Vec<LeadId>,
    pub records: i64,
}

impl Outcome {
    pub fn affected(&self) -> i64 {
        self.leads.len() as i64 + self.records
    }

    fn moved(leads: Vec<LeadId>) -> Self {
        Self { leads, records: 0 }
    }

    fn records(records: i64) -> Self {
        Self {
            leads: Vec::new(),
            records,
        }
    }
}

/// What a job reads besides the database.
pub struct JobContext<'a> {
    pub config: &'a SchedulerConfig,
    /// For reads outside the run's transaction (pool health).
    pub store: &'a leadpool_store::Store,
    pub policy: &'a Policy,
    /// The version `policy` was compiled from.
    pub policy_version: i64,
}

impl Job {
    pub const ALL: [Job; 12] = [
        Job::Release,
        Job::SlaExpiry,
        Job::Aging,
        Job::ForcedAssignment,
        Job::DailyRefresh,
        Job::WeeklyCleanup,
        Job::Backpressure,
        Job::ClaimQuota,
        Job::PoolSnapshot,
        Job::PerformanceRating,
        Job::ContactWarnings,
        Job::AlertEvents,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::SlaExpiry => "sla-expiry",
            Self::Aging => "aging",
            Self::ForcedAssignment => "forced-assignment",
            Self::DailyRefresh => "daily-refresh",
            Self::WeeklyCleanup => "weekly-cleanup",
            Self::Backpressure => "backpressure",
            Self::ClaimQuota => "claim-quota",
            Self::PoolSnapshot => "pool-snapshot",
            Self::PerformanceRating => "performance-rating",
            Self::ContactWarnings => "contact-warnings",
            Self::AlertEvents => "alert-events",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|job| job.id() == id)
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Release => {
                "releases the waiting leads of timed pools at their scheduled times; flash leads at once"
            }
            Self::SlaExpiry => "returns claimed leads whose contact deadline passed to their pool",
            Self::Aging => {
                "moves aging leads into the top 50% / 10% of their pool; escalates old ones to a manager"
            }
            Self::ForcedAssignment => {
                "assigns leads unclaimed too long to the next available rep, no choice"
            }
            Self::DailyRefresh => {
                "moves old leads to the priority pool, to nurture, and archives the oldest"
            }
            Self::WeeklyCleanup => {
                "rejects live duplicates of earlier leads; proposes merging low-volume pools (never applied by itself); forgets job runs older than the history kept"
            }
            Self::Backpressure => {
                "holds back low-priority sources while a pool is critical; resumes them below the warning level"
            }
            Self::ClaimQuota => "records reps who claimed fewer leads than the daily minimum",
            Self::PoolSnapshot => "records every pool's depth for the health history",
            Self::PerformanceRating => {
                "rates every rep's performance tier from her results over the policy's window"
            }
            Self::ContactWarnings => {
                "warns of contact deadlines about to pass (lead.contact_due_soon events)"
            }
            Self::AlertEvents => "turns pool alerts starting and stopping into events",
        }
    }

    pub fn interval(self, config: &SchedulerConfig) -> Duration {
        match self {
            Self::Release => config.release_interval,
            Self::SlaExpiry => config.sla_expiry_interval,
            Self::Aging => config.aging_interval,
            Self::ForcedAssignment => config.forced_assignment_interval,
            Self::DailyRefresh => config.refresh_interval,
            Self::WeeklyCleanup => config.cleanup_interval,
            Self::Backpressure => config.backpressure_interval,
            Self::ClaimQuota => config.quota_interval,
            Self::PoolSnapshot => config.snapshot_interval,
            Self::PerformanceRating => config.performance_interval,
            Self::ContactWarnings => config.contact_warning_interval,
            Self::AlertEvents => config.alert_events_interval,
        }
    }

    /// Applies the job as of `now`.
    pub async fn run(
        self,
        run: &mut JobTx,
        now: DateTime<Utc>,
        ctx: &JobContext<'_>,
    ) -> Result<Outcome, Error> {
        let batch = ctx.config.batch_size;
        let policy = ctx.policy;
        match self {
            Self::Release => {
                let releases: Vec<sql::Release> = policy
                    .pools
                    .iter()
                    .filter_map(|pool| {
                        let schedule = pool.schedule.release.as_ref()?;
                        Some(sql::Release {
                            pool: pool.id.clone(),
                            released_at: schedule.latest_at_or_before(now),
                            flash_min_score: schedule.flash_min_score,
                        })
                    })
                    .collect();
                run.release_scheduled(&releases, now, ACTOR, batch)
                    .await
                    .map(Outcome::moved)
            }
            Self::SlaExpiry => {
                let away = policy.away_at(now, &run.availability_settings().await?);
                let off_duty = policy.off_duty(now, &away);
                run.expire_contact_slas(now, &off_duty, ACTOR, batch)
                    .await
                    .map(Outcome::moved)
            }
            Self::Aging => {
                let escalations = steps(policy, now, |pool| {
                    let after = pool.schedule.aging.escalate_after?;
                    Some((
                        after,
                        format!("unclaimed {}: escalated to a manager", span(after)),
                        None,
                    ))
                });
                let moved = run
                    .age_out(
                        &sql::AgeOut {
                            steps: &escalations,
                            age: sql::AgeFrom::AvailableByPoolAge,
                            to_state: "escalated",
                            kind: EventKind::Escalated,
                        },
                        now,
                        ACTOR,
                        batch,
                    )
                    .await?;
                // Each pool's places, derived on read from its row (`place_aged`).
                let places: Vec<sql::AgingPlaces> = policy
                    .pools
                    .iter()
                    .map(|pool| {
                        let aging = &pool.schedule.aging;
                        let before = |after| pool.clocks.lifecycle.before(now, after);
                        sql::AgingPlaces {
                            pool: pool.id.clone(),
                            top_half_before: aging.top_half_after.map(before),
                            top_tenth_before: aging.top_tenth_after.map(before),
                        }
                    })
                    .collect();
                run.place_aged(&places, now).await?;
                Ok(Outcome::moved(moved))
            }
            Self::ForcedAssignment => forced::assign_overdue(run, policy, now, batch)
                .await
                .map(Outcome::moved),
            Self::DailyRefresh => daily_refresh(run, policy, now, batch)
                .await
                .map(Outcome::moved),
            Self::WeeklyCleanup => {
                let mut rejected = Vec::new();
                let keys = [
                    (policy.duplicates.by_email, sql::DuplicateKey::Email),
                    (policy.duplicates.by_company, sql::DuplicateKey::Company),
                ];
                for (_, key) in keys.into_iter().filter(|(on, _)| *on) {
                    rejected.extend(run.reject_duplicates(key, now, ACTOR, batch).await?);
                }
                let history = chrono::Duration::from_std(ctx.config.job_history)
                    .unwrap_or(chrono::Duration::days(30));
                let mut records = run.prune_job_runs(now - history).await?;
                // S5: low-volume pools and unbalanced segments become a proposed policy
                // change, kept for review; segments are judged on the last two weeks' leads.
                let arrivals = run
                    .arrivals_by_pool(now - chrono::Duration::days(7), now)
                    .await?;
                let inflow = run
                    .inflow(now - chrono::Duration::days(14), now, INFLOW_SAMPLE)
                    .await?;
                if let Some(proposal) = policy.propose_cleanup(&arrivals, &inflow) {
                    run.record_proposal(&proposal, ctx.policy_version, now)
                        .await?;
                    records += 1;
                }
                Ok(Outcome {
                    leads: rejected,
                    records,
                })
            }
            Self::Backpressure => crate::backpressure::apply(run, policy, now, batch)
                .await
                .map(Outcome::moved),
            Self::ClaimQuota => {
                let Some(minimum) = policy.health.min_claims_per_day else {
                    return Ok(Outcome::default());
                };
                let reps: Vec<_> = policy
                    .reps
                    .values()
                    .filter(|rep| rep.active && rep.role != leadpool_policy::Role::Manager)
                    .map(|rep| {
                        let zone = policy
                            .team_of(rep)
                            .map_or(chrono_tz::Tz::UTC, |t| t.time_zone);
                        (rep.id.clone(), zone.name().to_owned())
                    })
                    .collect();
                run.record_quota_shortfalls(&reps, minimum, now)
                    .await
                    .map(Outcome::records)
            }
            Self::PoolSnapshot => run.snapshot_pools(now).await.map(Outcome::records),
            Self::ContactWarnings => {
                // Due soon: at most `contactWarning` left on the clock that set the deadline.
                let pools: Vec<sql::WarnBy> = policy
                    .pools
                    .iter()
                    .map(|p| sql::WarnBy {
                        pool: p.id.clone(),
                        claimed_due_by: p.clocks.contact_sla.after(now, p.contact_warning),
                        assigned_due_by: p.clocks.acceptance.after(now, p.contact_warning),
                    })
                    .collect();
                run.warn_contact_due(&pools, ACTOR, now)
                    .await
                    .map(Outcome::records)
            }
            Self::AlertEvents => crate::monitor::record_alert_events(run, ctx.store, policy, now)
                .await
                .map(Outcome::records),
            Self::PerformanceRating => {
                let Some(rules) = &policy.performance else {
                    return Ok(Outcome::default());
                };
                let figures = run.rep_figures(now - rules.window, now).await?;
                let ratings = policy.rate_performance(&figures, now);
                run.record_ratings(&ratings, now)
                    .await
                    .map(Outcome::records)
            }
        }
    }
}

/// The most leads a rebalancing proposal routes to judge its moves (the newest of two weeks).
const INFLOW_SAMPLE: i64 = 20_000;

/// One [`sql::AgeStep`] per pool for which `step` gives (age, reason, target pool): the leads
/// that entered the pool at least that long before `now`, on the pool's lifecycle clock.
fn steps(
    policy: &Policy,
    now: DateTime<Utc>,
    step: impl Fn(
        &leadpool_policy::Pool,
    ) -> Option<(chrono::Duration, String, Option<leadpool_domain::PoolId>)>,
) -> Vec<sql::AgeStep> {
    policy
        .pools
        .iter()
        .filter_map(|pool| {
            let (after, reason, to_pool) = step(pool)?;
            Some(sql::AgeStep {
                pool: pool.id.clone(),
                entered_before: pool.clocks.lifecycle.before(now, after),
                reason,
                to_pool,
            })
        })
        .collect()
}

/// S5 in order: archive the oldest, nurture the old, move the rest to the priority pool — so
/// each lead takes the furthest step its age calls for.
async fn daily_refresh(
    run: &mut JobTx,
    policy: &Policy,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<LeadId>, Error> {
    let archive = steps(policy, now, |pool| {
        let after = pool.schedule.refresh.as_ref()?.archive_after?;
        Some((
            after,
            format!("unclaimed after {}: archived", span(after)),
            None,
        ))
    });
    let nurture = steps(policy, now, |pool| {
        let after = pool.schedule.refresh.as_ref()?.nurture_after?;
        Some((
            after,
            format!("older than {}: to nurture", span(after)),
            None,
        ))
    });
    let promote = steps(policy, now, |pool| {
        let step = pool.schedule.refresh.as_ref()?.move_to.as_ref()?;
        Some((
            step.after,
            format!(
                "older than {}: moved to the priority pool {}",
                span(step.after),
                step.to.name()
            ),
            Some(step.to.clone()),
        ))
    });
    let mut moved = Vec::new();
    for (steps, to_state, kind) in [
        (&archive, "archived", EventKind::Archived),
        (&nurture, "nurture", EventKind::Nurtured),
        (&promote, "available", EventKind::Moved),
    ] {
        moved.extend(
            run.age_out(
                &sql::AgeOut {
                    steps,
                    age: sql::AgeFrom::UnclaimedByPoolAge,
                    to_state,
                    kind,
                },
                now,
                ACTOR,
                batch,
            )
            .await?,
        );
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_round_trip() {
        for job in Job::ALL {
            assert_eq!(Job::from_id(job.id()), Some(job));
        }
    }
}
