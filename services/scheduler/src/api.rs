//! The gRPC surface of the scheduler.

use std::collections::BTreeMap;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use leadpool_auth::Role;
use leadpool_domain::validation::Violations;
use leadpool_domain::{AuditAction, Error, FieldViolation, PoolId};
use leadpool_proto::v1::{self, scheduler_service_server::SchedulerService};
use leadpool_server::audit::audit_entry;
use leadpool_server::{CancellationToken, caller, convert, paging, require_role, to_status};
use leadpool_store::AuditLog;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::core::{JobInfo, Scheduler};
use crate::health::{self, Alert, AlertKind, Health, Level, Severity};
use crate::jobs::Job;
use crate::monitor::{self, HealthQuery};
use crate::simulation::Simulation;

/// How many of the leads a run changed RunJob names: a run over a million leads would not fit
/// a gRPC message, and the history has every one.
const RUN_JOB_LEADS_SHOWN: usize = 1_000;

pub struct SchedulerApi {
    scheduler: Scheduler,
    audit: AuditLog,
    shutdown: CancellationToken,
}

impl SchedulerApi {
    pub fn new(scheduler: Scheduler, audit: AuditLog, shutdown: CancellationToken) -> Self {
        Self {
            scheduler,
            audit,
            shutdown,
        }
    }

    fn as_of(&self, ts: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, FieldViolation> {
        ts.map(|ts| convert::from_timestamp(ts, "as_of"))
            .transpose()
            .map(|at| at.unwrap_or_else(|| self.scheduler.now()))
    }
}

fn job_message(info: JobInfo) -> v1::Job {
    v1::Job {
        name: format!("jobs/{}", info.job.id()),
        description: info.job.description().to_owned(),
        interval: Some(prost_duration(info.interval)),
        last_run_time: info
            .last
            .as_ref()
            .map(|run| convert::timestamp(run.started_at)),
        last_run_affected: info.last.map_or(0, |run| run.affected),
        next_run_time: info.next.map(convert::timestamp),
    }
}

fn prost_duration(d: std::time::Duration) -> leadpool_proto::Duration {
    leadpool_proto::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn chrono_duration(d: chrono::Duration) -> leadpool_proto::Duration {
    prost_duration(d.to_std().unwrap_or_default())
}

fn parse_job(name: &str) -> Result<Job, FieldViolation> {
    let known = || {
        Job::ALL
            .iter()
            .map(|job| format!("jobs/{}", job.id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if name.is_empty() {
        return Err(FieldViolation::new(
            "name",
            format!("is required: one of {}", known()),
        ));
    }
    name.strip_prefix("jobs/")
        .and_then(Job::from_id)
        .ok_or_else(|| {
            FieldViolation::new(
                "name",
                format!("`{name}` is not a job; known jobs: {}", known()),
            )
        })
}

/// The most days of depletion one GetPoolHealth reports.
const MAX_DEPLETION_DAYS: i32 = 90;

fn depletion_days(days: i32) -> Result<u32, FieldViolation> {
    u32::try_from(days)
        .ok()
        .filter(|_| days <= MAX_DEPLETION_DAYS)
        .ok_or_else(|| {
            FieldViolation::new(
                "depletion_days",
                format!("must be 0 to {MAX_DEPLETION_DAYS}, not {days}"),
            )
        })
}

fn parse_time_zone(name: &str) -> Result<Tz, FieldViolation> {
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    name.parse().map_err(|_| {
        FieldViolation::new(
            "time_zone",
            format!("`{name}` is not an IANA time zone such as Europe/Berlin"),
        )
    })
}

fn alert_kind(kind: AlertKind) -> v1::AlertKind {
    match kind {
        AlertKind::Capacity => v1::AlertKind::Capacity,
        AlertKind::Depletion => v1::AlertKind::Depletion,
        AlertKind::Aging => v1::AlertKind::Aging,
        AlertKind::Escalated => v1::AlertKind::Escalated,
        AlertKind::LowClaimRate => v1::AlertKind::LowClaimRate,
        AlertKind::Quota => v1::AlertKind::Quota,
        AlertKind::Backpressure => v1::AlertKind::Backpressure,
        AlertKind::LowVolume => v1::AlertKind::LowVolume,
        AlertKind::UnbalancedSegment => v1::AlertKind::UnbalancedSegment,
    }
}

fn alert(a: &Alert, since: DateTime<Utc>) -> v1::Alert {
    v1::Alert {
        name: a.name.clone(),
        kind: alert_kind(a.kind).into(),
        severity: match a.severity {
            Severity::Info => v1::AlertSeverity::Info,
            Severity::Warning => v1::AlertSeverity::Warning,
            Severity::Critical => v1::AlertSeverity::Critical,
        }
        .into(),
        summary: a.summary.clone(),
        since: Some(convert::timestamp(since)),
    }
}

fn depletion(flow: &leadpool_store::Flow) -> v1::Depletion {
    v1::Depletion {
        start_time: Some(convert::timestamp(flow.start)),
        end_time: Some(convert::timestamp(flow.end)),
        claims: flow.claims,
        new_leads: flow.new_leads,
        rate: health::depletion_rate(flow),
    }
}

fn pool_health(pool: &leadpool_policy::Pool, h: &Health) -> v1::PoolHealth {
    let kind = pool.type_name();
    let o = &h.outcomes;
    v1::PoolHealth {
        pool: pool.id.name(),
        kind,
        as_of: Some(convert::timestamp(h.as_of)),
        depth: h.counts.available,
        scheduled: h.counts.scheduled,
        escalated: h.counts.escalated,
        warning_threshold: i64::from(pool.schedule.health.warning),
        critical_threshold: i64::from(pool.schedule.health.critical),
        level: match h.level {
            Level::Ok => v1::DepthLevel::Ok,
            Level::Warning => v1::DepthLevel::Warning,
            Level::Critical => v1::DepthLevel::Critical,
        }
        .into(),
        depletion: Some(depletion(&h.depletion)),
        depletion_by_day: h.depletion_by_day.iter().map(depletion).collect(),
        velocity: Some(velocity(&h.velocity)),
        conversion: Some(v1::Conversion {
            leads: o.leads,
            opportunities: o.opportunities,
            customers: o.customers,
            opportunity_percent: health::percent(o.opportunities, o.leads),
            customer_percent: health::percent(o.customers, o.leads),
            average_deal_size_minor: o.average_deal_size_minor.map_or(0, |v| v.round() as i64),
            average_cycle: o
                .average_cycle_seconds
                .map(|s| chrono_duration(chrono::Duration::seconds(s.round() as i64))),
            lost: o.lost,
        }),
        ages: Some(v1::AgeDistribution {
            under_12h: h.ages.under_12h,
            from_12h_to_24h: h.ages.from_12h_to_24h,
            over_24h: h.ages.over_24h,
            under_12h_percent: h.ages.under_12h_percent,
            from_12h_to_24h_percent: h.ages.from_12h_to_24h_percent,
            over_24h_percent: h.ages.over_24h_percent,
            healthy: h.ages.healthy,
        }),
        sizing: Some(v1::Sizing {
            daily_claim_capacity: h.sizing.daily_claim_capacity,
            healthy_min: h.sizing.healthy_min,
            below_under: h.sizing.below_under,
            healthy_max: h.sizing.healthy_max,
            recommendation: h.sizing.recommendation.to_owned(),
            average_depth_7d: h.sizing.average_depth_7d,
        }),
        alerts: h.alerts.iter().map(|a| alert(a, h.as_of)).collect(),
        paused_sources: h.paused_sources.clone(),
        new_last_7_days: h.new_last_7_days,
        segment_share_percent: h.segment_share.map(|s| s.percent),
        forecast: Some(forecast(&h.forecast)),
    }
}

fn velocity(v: &health::Velocity) -> v1::Velocity {
    v1::Velocity {
        claims: v.claims,
        mean: v.mean.map(chrono_duration),
        median: v.median.map(chrono_duration),
        target: Some(chrono_duration(v.target)),
        within_target_percent: v.within_target_percent,
        claims_by_hour: v.by_hour.iter().map(|s| s.claims).collect(),
        claims_by_weekday: v.by_weekday.iter().map(|s| s.claims).collect(),
        p90: v.p90.map(chrono_duration),
        by_hour: v.by_hour.iter().map(slot_velocity).collect(),
        by_weekday: v.by_weekday.iter().map(slot_velocity).collect(),
        by_weekday_hour: v
            .by_weekday_hour
            .iter()
            .map(|s| v1::WeekHourVelocity {
                weekday: s.slot / 24 + 1,
                hour: s.slot % 24,
                claims: s.claims,
                median: s.median.map(chrono_duration),
                p90: s.p90.map(chrono_duration),
                meets_target: s.meets_target,
            })
            .collect(),
    }
}

fn type_velocity(t: &health::TypeVelocity) -> v1::PoolTypeVelocity {
    v1::PoolTypeVelocity {
        kind: t.kind.clone(),
        pools: t.pools.iter().map(|p| p.name()).collect(),
        velocity: Some(velocity(&t.velocity)),
        meets_target: t.velocity.meets_target(),
    }
}

fn slot_velocity(s: &health::SlotVelocity) -> v1::SlotVelocity {
    v1::SlotVelocity {
        slot: s.slot,
        claims: s.claims,
        median: s.median.map(chrono_duration),
        p90: s.p90.map(chrono_duration),
        meets_target: s.meets_target,
    }
}

fn forecast(f: &health::Forecast) -> v1::Forecast {
    v1::Forecast {
        depth: f.depth,
        claims_per_hour: f.claims_per_hour,
        new_leads_per_hour: f.new_leads_per_hour,
        window: Some(chrono_duration(f.window)),
        empty_time: f.empty_at.map(convert::timestamp),
        critical_time: f.critical_at.map(convert::timestamp),
        summary: f.summary.clone(),
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<v1::AlertEvent, Status>> + Send>>;

#[tonic::async_trait]
impl SchedulerService for SchedulerApi {
    #[tracing::instrument(skip_all, fields(job = %request.get_ref().name))]
    async fn run_job(
        &self,
        request: Request<v1::RunJobRequest>,
    ) -> Result<Response<v1::RunJobResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(&identity, &[Role::Admin, Role::Service], "run jobs")?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let job = v.check(parse_job(&req.name));
            let as_of = v.check(self.as_of(req.as_of.as_ref()));
            let (Some(job), Some(as_of)) = (job, as_of) else {
                return Err(Error::InvalidArgument(v.into_vec()));
            };
            let outcome = self.scheduler.run_job(job, as_of).await?;
            let detail = serde_json::json!({
                "asOf": as_of.to_rfc3339(),
                "affected": outcome.affected(),
            });
            let target = format!("jobs/{}", job.id());
            let entry = audit_entry(&request, &identity, AuditAction::JobRun, target, detail);
            self.audit.record(&entry).await?;
            Ok(v1::RunJobResponse {
                job: Some(job_message(self.scheduler.job(job).await?)),
                affected: outcome.affected(),
                leads: outcome
                    .leads
                    .iter()
                    .take(RUN_JOB_LEADS_SHOWN)
                    .map(|id| id.name())
                    .collect(),
                leads_truncated: outcome.leads.len() > RUN_JOB_LEADS_SHOWN,
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_jobs(
        &self,
        request: Request<v1::ListJobsRequest>,
    ) -> Result<Response<v1::ListJobsResponse>, Status> {
        let result = async {
            caller(&request)?;
            let req = request.get_ref();
            paging::page_size(req.page_size, 100, 100)?;
            if !req.page_token.is_empty() {
                return Err(Error::invalid(
                    "page_token",
                    "ListJobs returns every job in one page; send no token",
                ));
            }
            let mut jobs = Vec::new();
            for job in Job::ALL {
                jobs.push(job_message(self.scheduler.job(job).await?));
            }
            Ok(v1::ListJobsResponse {
                jobs,
                next_page_token: String::new(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().name))]
    async fn get_pool_health(
        &self,
        request: Request<v1::GetPoolHealthRequest>,
    ) -> Result<Response<v1::PoolHealth>, Status> {
        let result = async {
            caller(&request)?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let id = v.check(PoolId::from_name(&req.name, "name"));
            let tz = v.check(parse_time_zone(&req.time_zone));
            let as_of = v.check(self.as_of(req.as_of.as_ref()));
            let days = v.check(depletion_days(req.depletion_days));
            let (Some(id), Some(time_zone), Some(as_of), Some(depletion_days)) =
                (id, tz, as_of, days)
            else {
                return Err(Error::InvalidArgument(v.into_vec()));
            };
            let query = HealthQuery {
                as_of,
                time_zone,
                depletion_days,
            };
            let (pool, h) = self.scheduler.pool_health(&id, query).await?;
            Ok(pool_health(&pool, &h))
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_pool_health(
        &self,
        request: Request<v1::ListPoolHealthRequest>,
    ) -> Result<Response<v1::ListPoolHealthResponse>, Status> {
        let result = async {
            caller(&request)?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let size = v.check(paging::page_size(req.page_size, 50, 200));
            let after = v.check(paging::decode::<String>(&req.page_token, "pool-health"));
            let as_of = v.check(self.as_of(req.as_of.as_ref()));
            let (Some(size), Some(after), Some(as_of)) = (size, after, as_of) else {
                return Err(Error::InvalidArgument(v.into_vec()));
            };
            let (page, more) = self
                .scheduler
                .pool_health_page(
                    after.as_deref(),
                    usize::try_from(size).unwrap_or(usize::MAX),
                    as_of,
                )
                .await?;
            Ok(v1::ListPoolHealthResponse {
                next_page_token: match (more, page.last()) {
                    (true, Some((last, _))) => paging::encode("pool-health", last.id.as_str()),
                    _ => String::new(),
                },
                pools: page.iter().map(|(pool, h)| pool_health(pool, h)).collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_pool_type_velocity(
        &self,
        request: Request<v1::ListPoolTypeVelocityRequest>,
    ) -> Result<Response<v1::ListPoolTypeVelocityResponse>, Status> {
        let result = async {
            caller(&request)?;
            let as_of = self
                .as_of(request.get_ref().as_of.as_ref())
                .map_err(|e| Error::InvalidArgument(vec![e]))?;
            let types = self.scheduler.type_velocity(as_of).await?;
            Ok(v1::ListPoolTypeVelocityResponse {
                types: types.iter().map(type_velocity).collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    type WatchAlertsStream = AlertStream;

    #[tracing::instrument(skip_all)]
    async fn simulate_policy(
        &self,
        request: Request<v1::SimulatePolicyRequest>,
    ) -> Result<Response<v1::SimulationReport>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(
                &identity,
                &[Role::Manager, Role::Admin, Role::Service],
                "simulate a policy",
            )?;
            let simulation = Simulation::parse(request.get_ref(), self.scheduler.now())?;
            let authority = identity.authority();
            self.scheduler
                .simulate(&simulation, |policy| policy.oversight(&authority))
                .await
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn get_cleanup_proposal(
        &self,
        request: Request<v1::GetCleanupProposalRequest>,
    ) -> Result<Response<v1::CleanupProposal>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(
                &identity,
                &[Role::Manager, Role::Admin, Role::Service],
                "read the cleanup proposal",
            )?;
            let proposal = self.scheduler.cleanup_proposal().await?;
            let record = &proposal.record;
            Ok(v1::CleanupProposal {
                create_time: Some(convert::timestamp(record.created_at)),
                policy_version: record.policy_version,
                stale: proposal.stale,
                merges: record
                    .merges
                    .iter()
                    .map(|m| v1::PoolMerge {
                        pool: format!("pools/{}", m.pool),
                        into: format!("pools/{}", m.into),
                        new_leads: m.new_leads,
                    })
                    .collect(),
                kept: record
                    .kept
                    .iter()
                    .map(|k| v1::KeptPool {
                        pool: format!("pools/{}", k.pool),
                        reason: k.why.clone(),
                    })
                    .collect(),
                document: record.document.clone(),
                changes: proposal
                    .changes
                    .iter()
                    .map(convert::policy_change)
                    .collect(),
                moves: record
                    .moves
                    .iter()
                    .map(|m| v1::SegmentMove {
                        criterion: m.criterion.clone(),
                        value: m.value.clone(),
                        from_rule: m.from_rule.clone(),
                        to_rule: m.to_rule.clone(),
                        from_pool: format!("pools/{}", m.from_pool),
                        to_pool: format!("pools/{}", m.to_pool),
                        leads: m.leads,
                    })
                    .collect(),
                shares: record
                    .shares
                    .iter()
                    .map(|s| v1::SegmentShare {
                        pool: format!("pools/{}", s.pool),
                        leads_before: s.leads_before,
                        percent_before: s.percent_before,
                        leads_after: s.leads_after,
                        percent_after: s.percent_after,
                    })
                    .collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn list_alerts(
        &self,
        request: Request<v1::ListAlertsRequest>,
    ) -> Result<Response<v1::ListAlertsResponse>, Status> {
        let result = async {
            let identity = caller(&request)?;
            require_role(
                &identity,
                &[Role::Manager, Role::Admin, Role::Service],
                "list alerts",
            )?;
            let req = request.get_ref();
            let mut v = Violations::new();
            let as_of = v.check(self.as_of(req.as_of.as_ref()));
            let pool = if req.pool.is_empty() {
                None
            } else {
                v.check(PoolId::from_name(&req.pool, "pool"))
            };
            let (Some(as_of), true) = (as_of, v.is_empty()) else {
                return Err(Error::InvalidArgument(v.into_vec()));
            };
            if let Some(pool) = &pool {
                self.scheduler.require_pool(pool).await?;
            }
            let prefix = pool.map(|p| format!("{}/", p.name())).unwrap_or_default();
            let alerts = self.scheduler.alerts(as_of).await?;
            Ok(v1::ListAlertsResponse {
                alerts: alerts
                    .values()
                    .filter(|a| a.name.starts_with(&prefix))
                    .map(|a| alert(a, as_of))
                    .collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(to_status)
    }

    async fn watch_alerts(
        &self,
        request: Request<v1::WatchAlertsRequest>,
    ) -> Result<Response<AlertStream>, Status> {
        let setup = async {
            let identity = caller(&request)?;
            // Alerts name reps below their quota: for managers, not for other reps.
            require_role(
                &identity,
                &[Role::Manager, Role::Admin, Role::Service],
                "watch alerts",
            )?;
            let pool = request.get_ref().pool.clone();
            if !pool.is_empty() {
                let id = PoolId::from_name(&pool, "pool")
                    .map_err(|v| Error::InvalidArgument(vec![v]))?;
                self.scheduler.require_pool(&id).await?;
            }
            Ok::<_, Error>(pool)
        }
        .await;
        let pool = setup.map_err(to_status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let scheduler = self.scheduler.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let prefix = if pool.is_empty() {
                String::new()
            } else {
                format!("{pool}/")
            };
            // Firing alerts with the time this watch first saw them.
            let mut firing = BTreeMap::new();
            let mut ticker = tokio::time::interval(scheduler.alert_interval());
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tx.closed() => return,
                    _ = ticker.tick() => {}
                }
                let now = scheduler.now();
                // A database blip skips one evaluation; the watch goes on.
                let current = match scheduler.alerts(now).await {
                    Ok(current) => current,
                    Err(err) => {
                        tracing::warn!(error = %err, "alerts not evaluated; trying again");
                        continue;
                    }
                };
                for change in monitor::changes(&mut firing, &current, &prefix, now) {
                    let event = v1::AlertEvent {
                        alert: Some(alert(&change.alert, change.since)),
                        resolved: change.resolved,
                    };
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
