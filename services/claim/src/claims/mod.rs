//! The claim service's core, and its only door: claiming (check the policy's rules, reserve
//! the rep's allowance in Redis, claim in Postgres under the rep's lock, hand back what was not
//! used), what an owner does with her lead, browsing, history and access. Postgres decides who
//! wins a lead (one conditional statement), so a lead can never go to two reps, whatever the
//! number of claim replicas.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{
    Error, Lead, LeadEvent, LeadId, LeadState, OwnedChange, PerformanceView, PoolId,
    QuotaViolation, Reason, RepId,
};
use leadpool_limits::{
    ClaimLimiter, LimitSet, RETENTION, Refusal, Reservation, ReserveOutcome, ReserveRequest, Scope,
    Subject, Unseeded,
};
use leadpool_policy::{AccessExplanation, Consequence, LeadFacts, Policy, Ratio, Rep};
use leadpool_store::{
    AvailableCursor, Handover, LeadOrder, NextClaim, PolicyCache, RatioProgress, RepClaim, Store,
};

use self::group::{ClaimGroups, Grouped, Waiting};
use crate::config::ClaimsConfig;
use crate::rules::{ClaimRules, active_lead_limit, claiming_rep, pool_names};

mod group;
mod manage;
mod status;

pub use manage::{Assignment, Destination, LeadQuery, Reassignment};
pub use status::{LimitUse, OpenLead, PoolStanding, RepStatus};

pub struct Claims {
    store: Store,
    limiter: ClaimLimiter,
    policy: PolicyCache,
    settings: ClaimsConfig,
    /// Group commit for ClaimNext and ClaimBatch, unless turned off.
    groups: Option<ClaimGroups>,
}

/// What a rep is claiming.
pub enum Target<'a> {
    /// A lead she chose: LEAD_NOT_AVAILABLE unless she gets it.
    Lead(LeadId),
    /// The highest-priority available lead of a pool: POOL_EMPTY unless there is one.
    Next(&'a PoolId),
    /// Up to `count` of the highest-priority available leads of a pool; perhaps none.
    Batch { pool: &'a PoolId, count: u32 },
}

impl Target<'_> {
    /// The history row's reason.
    fn reason(&self) -> &'static str {
        match self {
            Self::Lead(_) => "claim",
            Self::Next(_) => "claim-next",
            Self::Batch { .. } => "claim-batch",
        }
    }
}

/// A claim that goes its own way, not in a group: the rep, her rules, how many she wants (or
/// which lead), and what the history records.
#[derive(Clone, Copy)]
struct Alone<'a> {
    subject: &'a Subject,
    rules: &'a ClaimRules,
    wanted: u32,
    chosen: Option<LeadId>,
    actor: &'a str,
    reason: &'static str,
    now: DateTime<Utc>,
    /// When what is claimed must be contacted (the pool's SLA on its clock).
    due: DateTime<Utc>,
}

/// Who is looking at leads: a rep sees what the policy lets her; managers, admins and services
/// see everything, for oversight.
pub enum Viewer {
    Rep(RepId),
    Overseer,
}

/// One page of a pool's available leads.
pub struct PoolPage {
    pub leads: Vec<Lead>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<AvailableCursor>,
}

impl Claims {
    pub fn new(
        store: Store,
        limiter: ClaimLimiter,
        policy: PolicyCache,
        settings: ClaimsConfig,
    ) -> Self {
        let groups = settings.group_commit.then(|| {
            ClaimGroups::new(
                store.clone(),
                limiter.clone(),
                settings.group_size,
                settings.groups_in_flight,
            )
        });
        Self {
            store,
            limiter,
            policy,
            settings,
            groups,
        }
    }

    /// The largest batch a rep may ask for.
    pub fn max_batch(&self) -> u32 {
        self.settings.max_batch
    }

    pub async fn claim(
        &self,
        rep: &RepId,
        target: Target<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Lead>, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let record = claiming_rep(policy, rep)?;
        let (pool, wanted, lead) = match target {
            Target::Lead(id) => {
                let lead = self.store.get_lead(id).await?;
                let Some(pool) = lead
                    .pool
                    .clone()
                    .filter(|_| lead.state == LeadState::Available)
                else {
                    return Err(unavailable_lead(id, lead.state));
                };
                (pool, 1, Some(lead))
            }
            Target::Next(pool) => (pool.clone(), 1, None),
            Target::Batch { pool, count } => (pool.clone(), count, None),
        };
        require_access(policy, rep, &pool, now)?;
        self.require_acceptance(policy, rep, now).await?;
        let mut rules = ClaimRules::new(
            policy,
            record,
            policy.pool(&pool),
            self.settings.daily_limit,
        );
        if let Some(rotation) = &rules.rotation {
            // An away rep's exclusive windows pass to the others.
            rules.rotation = Some(rotation.without(&self.away(policy, now).await?));
        }
        self.require_gates_open(&pool, &rules).await?;
        if let Some(lead) = &lead {
            require_skills(policy, record, lead, now)?;
        }
        if let (Some(lead), Some(turn)) = (&lead, rules.excluding_turn(rep, now))
            && lead.pooled_at.is_some_and(|at| at >= turn.start)
        {
            return Err(Error::precondition(
                Reason::RotationWindow,
                pool.name(),
                format!(
                    "{} is in {}'s exclusive window on new leads of {} until {}; claim \
                         it after that, or an older lead now",
                    lead.id.name(),
                    turn.holder.name(),
                    pool.name(),
                    turn.end.to_rfc3339()
                ),
            ));
        }

        let subject = Subject {
            rep: rep.clone(),
            pool: Some(pool.clone()),
        };
        let due = policy.contact_due(&pool, now);
        if let (Some(groups), None) = (&self.groups, &lead)
            && rules.groupable(rep, now)
        {
            let waiting = Waiting {
                subject: subject.clone(),
                wanted,
                limits: rules.limits.clone(),
                active_leads: rules.active_leads,
                pool_active_leads: rules.pool_active_leads,
                actor: actor.to_owned(),
                reason: target.reason(),
                traceparent: leadpool_telemetry::current_traceparent(),
                now,
                due,
            };
            if let Grouped::Claimed(claimed) = groups.claim(&pool, waiting).await? {
                return self.answer(target, claimed).await;
            }
        }
        let claimed = self
            .claim_alone(&Alone {
                subject: &subject,
                rules: &rules,
                wanted,
                chosen: lead.as_ref().map(|l| l.id),
                actor,
                reason: target.reason(),
                now,
                due,
            })
            .await?;
        self.answer(target, claimed).await
    }

    /// A claim on its own: reserve the allowance, claim under the rep's lock, hand back what
    /// was not used.
    async fn claim_alone(&self, claim: &Alone<'_>) -> Result<Vec<Lead>, Error> {
        let reservation = self
            .reserve(claim.subject, claim.wanted, &claim.rules.limits, claim.now)
            .await?;
        let claimed = self.claim_in_postgres(claim, &reservation).await;
        self.settle(
            &reservation,
            allowance_used(&claimed, reservation.granted()),
        )
        .await;
        claimed
    }

    /// What a claim answers: the leads, or why there were none.
    async fn answer(&self, target: Target<'_>, claimed: Vec<Lead>) -> Result<Vec<Lead>, Error> {
        if claimed.is_empty() {
            match target {
                Target::Lead(id) => return Err(self.explain_unavailable(id).await),
                Target::Next(pool) => {
                    self.store.get_pool(pool).await?;
                    return Err(Error::precondition(
                        Reason::PoolEmpty,
                        pool.name(),
                        format!("{} has no lead available right now", pool.name()),
                    ));
                }
                // Asking a pool that does not exist is NOT_FOUND, not an empty batch.
                Target::Batch { pool, .. } => {
                    self.store.get_pool(pool).await?;
                }
            }
        }
        Ok(claimed)
    }

    /// Within the rep's claim transaction: the caps that depend on what she holds, then the
    /// claim itself.
    async fn claim_in_postgres(
        &self,
        claim: &Alone<'_>,
        reservation: &Reservation,
    ) -> Result<Vec<Lead>, Error> {
        let Alone {
            subject,
            rules,
            chosen,
            actor,
            reason,
            now,
            due,
            ..
        } = *claim;
        let rep = &subject.rep;
        let pool = subject
            .pool
            .as_ref()
            .ok_or_else(|| Error::internal("a claim without a pool"))?;
        let mut grant = i64::from(reservation.granted());
        // A pick of one keeps one plan for its statements; a chosen lead or a batch is planned
        // for each call.
        let mut tx = if chosen.is_none() && grant == 1 {
            self.store.begin_claim_of_one(rep).await?
        } else {
            self.store.begin_claim(rep).await?
        };
        if let Some(max) = rules.active_leads {
            let open = tx.open_leads(None).await?;
            grant = grant.min(active_room(rep, max, open, None)?);
        }
        if let Some(max) = rules.pool_active_leads {
            let open = tx.open_leads(Some(pool)).await?;
            grant = grant.min(active_room(rep, max, open, Some(pool))?);
        }
        if let Some(ratio) = &rules.ratio {
            let progress = tx
                .ratio_progress(pool, &ratio.from, ratio.min_hold, now)
                .await?;
            if progress.worked < i64::from(ratio.claims) {
                return Err(ratio_unmet(pool, ratio, progress));
            }
            // Each claim here needs its own run of claims from the other pools.
            grant = grant.min(1);
        }
        let claimed = if let Some(id) = chosen {
            claim_chosen(&mut tx, rules, id, pool, due, actor, now).await?
        } else {
            let filter = NextClaim {
                due,
                gave_up_after: rules.reclaim_embargo.map(|embargo| now - embargo),
                pooled_before: rules.excluding_turn(rep, now).map(|turn| turn.start),
                skills: rules.skill_filter(now),
            };
            tx.claim_next(pool, grant, &filter, actor, reason, now)
                .await?
        };
        tx.commit().await?;
        Ok(claimed)
    }

    /// Applies what the rep holding a lead does with it (release, contact, close, accept,
    /// reject), or says why she cannot: the lead is another rep's, or not in a state the
    /// change allows.
    pub async fn work(
        &self,
        rep: &RepId,
        id: LeadId,
        change: &OwnedChange,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Lead, Error> {
        let changed = match change {
            OwnedChange::Accept => {
                // Its contact deadline comes from its pool's SLA, on that pool's clock.
                let pool = self.store.get_lead(id).await?.pool;
                let current = self.policy.current().await?;
                let terms = Handover::of(&current.policy, pool.as_ref(), now, false);
                self.store
                    .accept_assignment(id, rep, &terms, actor, now)
                    .await?
            }
            _ => self.store.change_owned(id, rep, change, actor, now).await?,
        };
        match changed {
            Some(lead) => Ok(lead),
            None => Err(self.explain_not_owned(id, rep, change).await),
        }
    }

    /// One page of a pool's available leads, as `viewer` may see them: a rep only pools she
    /// may claim from, and blind pools without who the leads are.
    pub async fn browse(
        &self,
        viewer: &Viewer,
        pool: &PoolId,
        order: LeadOrder,
        after: Option<&AvailableCursor>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<PoolPage, Error> {
        let current = self.policy.current().await?;
        if let Viewer::Rep(rep) = viewer {
            if current.policy.pool(pool).is_none() {
                self.store.get_pool(pool).await?;
            }
            require_access(&current.policy, rep, pool, now)?;
        }
        let mut leads = self
            .store
            .list_available(pool, order, after, limit + 1)
            .await?;
        if leads.is_empty() {
            // Listing a pool that does not exist is NOT_FOUND, not an empty page.
            self.store.get_pool(pool).await?;
        }
        let next = if leads.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
            leads.pop();
            leads
                .last()
                .and_then(|last| AvailableCursor::after(last, order))
        } else {
            None
        };
        if current.policy.pool(pool).is_some_and(|p| p.blind) {
            leads.iter_mut().for_each(hide_identity);
        }
        Ok(PoolPage { leads, next })
    }

    /// A lead's history after event `after`, for its owner and for overseers.
    pub async fn history(
        &self,
        viewer: &Viewer,
        id: LeadId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LeadEvent>, Error> {
        let lead = self.store.get_lead(id).await?;
        if let Viewer::Rep(rep) = viewer
            && lead.owner.as_ref() != Some(rep)
        {
            return Err(Error::PermissionDenied(format!(
                "{} may read the history of leads she owns only",
                rep.name()
            )));
        }
        self.store.lead_events(id, after, limit).await
    }

    /// Reserves claims in Redis, first rebuilding from Postgres any claim log Redis lost.
    async fn reserve(
        &self,
        subject: &Subject,
        wanted: u32,
        limits: &LimitSet,
        now: DateTime<Utc>,
    ) -> Result<Reservation, Error> {
        let outcome = self
            .with_seeded_logs(subject, now, || async {
                let request = ReserveRequest {
                    subject,
                    wanted,
                    limits,
                };
                let mut outcomes = self.limiter.reserve(&[request], now).await?;
                Ok(outcomes.pop().unwrap_or(Err(Unseeded(Scope::Rep))))
            })
            .await
            .map_err(limits_unreachable)?;
        match outcome {
            ReserveOutcome::Granted(reservation) => Ok(reservation),
            ReserveOutcome::Exhausted {
                limit,
                used,
                retry_after,
            } => Err(exhausted(&subject.rep, &limit, used, retry_after)),
        }
    }

    /// Runs a limiter call; when it finds a claim log Redis does not hold, refills that log
    /// from the lead history and runs it again.
    async fn with_seeded_logs<T, F, Fut>(
        &self,
        subject: &Subject,
        now: DateTime<Utc>,
        mut call: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Result<T, Unseeded>, Error>>,
    {
        // Two logs per subject: a third miss means they vanish as fast as they are rebuilt.
        for _ in 0..3 {
            match call().await? {
                Ok(answer) => return Ok(answer),
                Err(Unseeded(scope)) => {
                    seed_claim_log(&self.store, &self.limiter, subject, scope, now).await?;
                }
            }
        }
        Err(Error::internal(
            "claim logs kept disappearing while being rebuilt",
        ))
    }

    /// With a "lose pool access" consequence, a rep below the minimum acceptance of her
    /// assignments cannot claim from pools until her rate recovers.
    async fn require_acceptance(
        &self,
        policy: &Policy,
        rep: &RepId,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let Some(acceptance) = policy.acceptance else {
            return Ok(());
        };
        if acceptance.consequence != Consequence::LosePoolAccess {
            return Ok(());
        }
        let decisions = self
            .store
            .assignment_decisions(rep, now - acceptance.window)
            .await?;
        if acceptance.is_below(decisions.accepted, decisions.decided) {
            return Err(Error::precondition(
                Reason::AcceptanceTooLow,
                rep.name(),
                format!(
                    "{} accepted {} of {} assignments recently, below the minimum of {}%; \
                     pools reopen once enough assignments are accepted",
                    rep.name(),
                    decisions.accepted,
                    decisions.decided,
                    acceptance.minimum_percent
                ),
            ));
        }
        Ok(())
    }

    /// Tier gating: a pool opens only once the pools gating it are empty.
    async fn require_gates_open(&self, pool: &PoolId, rules: &ClaimRules) -> Result<(), Error> {
        for gate in &rules.gates {
            let left = self.store.count_available(gate).await?;
            if left > 0 {
                return Err(Error::precondition(
                    Reason::TierGated,
                    pool.name(),
                    format!(
                        "{} opens when {} is empty ({left} leads left there); claim from it first",
                        pool.name(),
                        gate.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether `rep` may browse and claim from `pool` at `now`, and why; with the policy
    /// version that decided.
    pub async fn explain_access(
        &self,
        rep: &RepId,
        pool: &PoolId,
        now: DateTime<Utc>,
    ) -> Result<(AccessExplanation, Option<PerformanceView>, i64), Error> {
        let current = self.policy.current().await?;
        if current.policy.pool(pool).is_none() {
            // A pool the policy retired, or one that never existed.
            self.store.get_pool(pool).await?;
        }
        Ok((
            current.policy.explain_access(rep, pool, now),
            current
                .policy
                .rep(rep)
                .map(leadpool_policy::Rep::performance_view),
            current.version,
        ))
    }

    /// Hands back the allowance that did not turn into claims. If Redis fails here the rep
    /// loses that allowance until the window passes: the safe direction for a limit.
    async fn settle(&self, reservation: &Reservation, used: usize) {
        let unused = reservation
            .granted()
            .saturating_sub(u32::try_from(used).unwrap_or(u32::MAX));
        if let Err(err) = self.limiter.release(&[(reservation, unused)]).await {
            tracing::warn!(error = %err, unused, "could not hand back unused claim allowance");
        }
    }

    /// Why a lead could not be claimed, worked out only after the claim failed.
    async fn explain_unavailable(&self, id: LeadId) -> Error {
        match self.store.get_lead(id).await {
            Ok(lead) => unavailable_lead(id, lead.state),
            Err(err) => err,
        }
    }

    /// Why `rep` could not make `change` to a lead.
    async fn explain_not_owned(&self, id: LeadId, rep: &RepId, change: &OwnedChange) -> Error {
        match self.store.get_lead(id).await {
            Ok(lead) if lead.owner.as_ref().is_some_and(|owner| owner != rep) => {
                Error::PermissionDenied(format!("{} is owned by another rep", id.name()))
            }
            Ok(lead)
                if matches!(change, OwnedChange::Reject { .. })
                    && lead.state == LeadState::Assigned
                    && !lead.rejectable =>
            {
                Error::precondition(
                    Reason::AssignmentNotRejectable,
                    id.name(),
                    format!(
                        "{} was assigned to you with no choice ({} assignment); accept it, or \
                         ask your manager to return it",
                        id.name(),
                        lead.assigned_by.map_or("a", |by| by.as_str())
                    ),
                )
            }
            Ok(lead)
                if matches!(change, OwnedChange::Reject { .. })
                    && lead.state.is_held()
                    && !lead.rejectable =>
            {
                Error::precondition(
                    Reason::AssignmentNotRejectable,
                    id.name(),
                    format!(
                        "{} is {} and not an assignment you may turn down; release it \
                         (ReleaseLead), or ask your manager to return it",
                        id.name(),
                        lead.state
                    ),
                )
            }
            Ok(lead) => {
                let expected: Vec<&str> = change.from_states().iter().map(|s| s.as_str()).collect();
                Error::precondition(
                    Reason::LeadNotOwned,
                    id.name(),
                    format!(
                        "{} is {}; this needs a lead you own that is {}",
                        id.name(),
                        lead.state,
                        expected.join(" or ")
                    ),
                )
            }
            Err(err) => err,
        }
    }
}

/// A blind pool shows what a lead is worth (score, region, product, source), not who it is,
/// so reps cannot cherry-pick by name; the claimant sees everything.
fn hide_identity(lead: &mut Lead) {
    lead.email.clear();
    lead.contact_name.clear();
    lead.company.clear();
    lead.company_domain.clear();
    lead.phone.clear();
}

/// SKILL_MISMATCH when `lead`'s pool gives it only to reps covering its skills, `rep` does not,
/// and the lead has not waited long enough to be open to every rep.
fn require_skills(
    policy: &Policy,
    rep: &Rep,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(pool) = lead.pool.as_ref().and_then(|id| policy.pool(id)) else {
        return Ok(());
    };
    let Some(skills) = pool.skills_asked(lead.pooled_at, now) else {
        return Ok(());
    };
    let lacking = skills.lacking(rep, &LeadFacts::from(lead));
    if lacking.is_empty() {
        return Ok(());
    }
    let opens = match (lead.pooled_at, skills.relax_after) {
        (Some(at), Some(_)) => format!(
            "; any rep of {} may claim it from {}",
            pool.id.name(),
            skills
                .relaxed_from(at, &pool.clocks.lifecycle)
                .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339())
        ),
        _ => String::new(),
    };
    Err(Error::precondition(
        Reason::SkillMismatch,
        lead.id.name(),
        format!(
            "{} goes to reps covering its {}: you {}{opens}",
            lead.id.name(),
            skills
                .skills
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", "),
            lacking.join(", ")
        ),
    ))
}

/// A chosen lead of `pool`, unless the rep gave it up too recently.
async fn claim_chosen(
    tx: &mut RepClaim,
    rules: &ClaimRules,
    id: LeadId,
    pool: &PoolId,
    due: DateTime<Utc>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Lead>, Error> {
    if let Some(embargo) = rules.reclaim_embargo
        && let Some(gave_up) = tx.gave_up_after(id, now - embargo).await?
    {
        return Err(Error::precondition(
            Reason::ReclaimEmbargo,
            id.name(),
            format!(
                "you gave up {} at {}; you may claim it again from {}",
                id.name(),
                gave_up.to_rfc3339(),
                (gave_up + embargo).to_rfc3339()
            ),
        ));
    }
    Ok(tx
        .claim_lead(id, pool, due, actor, now)
        .await?
        .into_iter()
        .collect())
}

/// NOT_FOUND for a pool the policy in force does not have; PERMISSION_DENIED unless the
/// policy lets `rep` claim from `pool` at `now`.
fn require_access(
    policy: &Policy,
    rep: &RepId,
    pool: &PoolId,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if policy.pool(pool).is_none() {
        return Err(Error::not_found("pool", pool.name()));
    }
    let access = policy.explain_access(rep, pool, now);
    if access.allowed {
        Ok(())
    } else {
        let window = if access.window.is_empty() {
            String::new()
        } else {
            format!(" ({})", access.window)
        };
        Err(Error::PermissionDenied(format!(
            "{} may not claim from {}{window}: {}",
            rep.name(),
            pool.name(),
            access.reasons.join("; ")
        )))
    }
}

fn unavailable_lead(id: LeadId, state: LeadState) -> Error {
    Error::precondition(
        Reason::LeadNotAvailable,
        id.name(),
        format!(
            "{} is no longer available (it is {state}); browse the pool for another lead",
            id.name()
        ),
    )
}

/// Refills a claim log Redis does not hold from the lead history.
async fn seed_claim_log(
    store: &Store,
    limiter: &ClaimLimiter,
    subject: &Subject,
    scope: Scope,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let pool = subject.pool.as_ref().filter(|_| scope == Scope::Pool);
    let times = store
        .claim_times(&subject.rep, pool, retention_start(now))
        .await?;
    tracing::info!(rep = %subject.rep, ?scope, claims = times.len(), "rebuilt a claim log from history");
    limiter
        .seed(subject, scope, &times)
        .await
        .map_err(limits_unreachable)
}

/// The start of the history claim logs keep: [`RETENTION`] before `now`.
fn retention_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(RETENTION).unwrap_or_default()
}

/// How many more open leads the rep may take under a cap of `max`.
fn active_room(rep: &RepId, max: u32, open: i64, pool: Option<&PoolId>) -> Result<i64, Error> {
    let room = i64::from(max) - open;
    if room > 0 {
        return Ok(room);
    }
    let (reason, label) = active_lead_limit(pool);
    Err(Error::ResourceExhausted {
        message: format!(
            "{} holds {open} open leads, the {label} of {max}; contact, close or release one \
             before claiming more",
            rep.name()
        ),
        reason,
        violations: vec![QuotaViolation {
            subject: rep.name(),
            description: format!("{label}: {open} of {max} open"),
        }],
        retry_after: None,
    })
}

fn ratio_unmet(pool: &PoolId, ratio: &Ratio, progress: RatioProgress) -> Error {
    Error::precondition(
        Reason::ClaimRatio,
        pool.name(),
        format!(
            "a claim from {} needs {} worked claims from {} since your last one there \
             ({}); you have {}",
            pool.name(),
            ratio.claims,
            pool_names(&ratio.from),
            worked_means(ratio),
            progress_text(progress)
        ),
    )
}

/// What makes a claim count towards a ratio, in words.
pub(crate) fn worked_means(ratio: &Ratio) -> String {
    format!(
        "a claim counts once the lead is contacted or kept {}",
        leadpool_policy::span(ratio.min_hold)
    )
}

/// "1 worked and 2 not yet (held, neither contacted nor kept long enough)".
pub(crate) fn progress_text(progress: RatioProgress) -> String {
    match progress.pending {
        0 => format!("{} worked", progress.worked),
        pending => format!(
            "{} worked and {pending} not yet (held, neither contacted nor kept long enough)",
            progress.worked
        ),
    }
}

fn exhausted(rep: &RepId, limit: &Refusal, used: u32, retry_after: Duration) -> Error {
    let retry_secs = retry_after.as_secs_f64().ceil();
    let (reason, label, max) = match limit {
        Refusal::Window(window) => (window.reason, window.label.clone(), window.max),
        Refusal::Cooldown(cooldown) => (
            Reason::ClaimCooldown,
            format!("cooldown after {} claims in a row", cooldown.after),
            cooldown.after,
        ),
    };
    Error::ResourceExhausted {
        message: format!(
            "{} reached the {label} ({used} of {max} claims used); claims are possible again \
             in {retry_secs}s",
            rep.name(),
        ),
        reason,
        violations: vec![QuotaViolation {
            subject: rep.name(),
            description: format!("{label}: {used} of {max} used"),
        }],
        retry_after: Some(retry_after),
    }
}

/// Redis being unreachable pauses claiming (limits cannot be checked); say so plainly.
fn limits_unreachable(err: Error) -> Error {
    match err {
        Error::Unavailable { message, .. } => Error::Unavailable {
            dependency: "redis",
            message: format!(
                "claim limits cannot be checked ({message}), so claiming is paused; browsing, \
                 releasing and recording contacts still work. Retry in a few seconds"
            ),
        },
        other => other,
    }
}

/// How much of a reservation a claim attempt used: what it claimed — or, when the commit's
/// outcome is unknown (the connection dropped after COMMIT was sent), all of it: the claims
/// may have been made, and handing the allowance back could let the rolling limits under-count.
fn allowance_used(claimed: &Result<Vec<Lead>, Error>, granted: u32) -> usize {
    match claimed {
        Ok(leads) => leads.len(),
        Err(Error::OutcomeUnknown(_)) => granted as usize,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_commit_keeps_the_whole_allowance() {
        assert_eq!(allowance_used(&Ok(Vec::new()), 3), 0);
        assert_eq!(
            allowance_used(&Err(Error::OutcomeUnknown("lost".into())), 3),
            3
        );
        assert_eq!(allowance_used(&Err(Error::internal("boom")), 3), 0);
    }
}
