//! A validated policy. Every value here was checked by [`crate::compile`]: references resolve,
//! enums are enums, times are times.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use leadpool_domain::{PoolId, RepId};

use crate::document::PolicyDocument;

pub mod schedule;
pub mod working_time;

pub use schedule::*;
pub use working_time::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Sdr,
    Ae,
    Manager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seniority {
    Junior,
    Standard,
    Senior,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Performance {
    Top,
    OnQuota,
    BelowQuota,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    Open,
    Segmented,
    Tiered,
    Timed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Hot,
    Warm,
    Cold,
}

macro_rules! names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

names!(Role { Sdr => "sdr", Ae => "ae", Manager => "manager" });
names!(Seniority { Junior => "junior", Standard => "standard", Senior => "senior" });
names!(Performance { Top => "top", OnQuota => "on-quota", BelowQuota => "below-quota" });
names!(PoolKind { Open => "open", Segmented => "segmented", Tiered => "tiered", Timed => "timed" });
names!(Tier { Hot => "hot", Warm => "warm", Cold => "cold" });

/// Claim limits; `None` means "not limited at this level".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub per_day: Option<u32>,
    pub per_hour: Option<u32>,
    pub active_leads: Option<u32>,
    pub cooldown: Option<Cooldown>,
    pub reclaim_embargo: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooldown {
    pub after: u32,
    pub pause: Duration,
}

impl Limits {
    /// These limits, with unset values taken from `wider`.
    #[must_use]
    pub fn or(self, wider: Limits) -> Limits {
        Limits {
            per_day: self.per_day.or(wider.per_day),
            per_hour: self.per_hour.or(wider.per_hour),
            active_leads: self.active_leads.or(wider.active_leads),
            cooldown: self.cooldown.or(wider.cooldown),
            reclaim_embargo: self.reclaim_embargo.or(wider.reclaim_embargo),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub time_zone: Tz,
    pub business_hours: Option<BusinessHours>,
    /// Index into [`Policy::rotations`].
    pub after_hours: Option<usize>,
    pub weekends: Option<usize>,
    pub limits: Limits,
    /// Managers who oversee the team besides its own.
    pub managers: BTreeSet<RepId>,
    /// Days off, from the holiday calendars the team names (in its time zone).
    pub holidays: BTreeSet<chrono::NaiveDate>,
    /// Days off every year: (month, day).
    pub yearly_holidays: BTreeSet<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    /// Monday first.
    pub days: [bool; 7],
    pub from: NaiveTime,
    pub to: NaiveTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rep {
    pub id: RepId,
    pub name: String,
    /// How the identity provider names her, lowercased: tokens are matched to her by these.
    pub email: Option<String>,
    pub login: Option<String>,
    pub team: Option<String>,
    pub role: Role,
    pub seniority: Seniority,
    pub performance: Performance,
    pub regions: BTreeSet<String>,
    pub products: BTreeSet<String>,
    pub industries: BTreeSet<String>,
    pub languages: BTreeSet<String>,
    pub active: bool,
    pub weight: u32,
    pub absences: Vec<Absence>,
    pub limits: Limits,
    /// Whether the document sets her `performance` (which then wins over a computed one) and
    /// her `weight` (else it follows her performance).
    pub performance_set: bool,
    pub weight_set: bool,
    /// The scheduler's latest rating of her, if the policy computes performance (A3).
    pub rating: Option<crate::Rating>,
}

/// The default weight in weighted assignment for a performance tier.
pub fn default_weight(performance: Performance) -> u32 {
    match performance {
        Performance::Top => 3,
        Performance::OnQuota => 2,
        Performance::BelowQuota => 1,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Absence {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
}

impl Rep {
    /// The absence covering `now`, if she is away.
    pub fn absence_at(&self, now: DateTime<Utc>) -> Option<&Absence> {
        self.absences.iter().find(|a| a.from <= now && now < a.to)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub id: String,
    pub shifts: Vec<Vec<RepId>>,
    pub shift_length: Duration,
    pub start: DateTime<Utc>,
}

impl Rotation {
    /// Who is on duty at `at`; nobody before the rotation starts.
    pub fn on_duty(&self, at: DateTime<Utc>) -> &[RepId] {
        if at < self.start || self.shifts.is_empty() {
            return &[];
        }
        let elapsed = (at - self.start).num_seconds();
        let length = self.shift_length.num_seconds().max(1);
        let count = i64::try_from(self.shifts.len()).unwrap_or(i64::MAX);
        let index = usize::try_from((elapsed / length) % count).unwrap_or(0);
        &self.shifts[index]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub id: PoolId,
    pub name: String,
    pub kind: PoolKind,
    pub tier: Option<Tier>,
    pub min_score: Option<i32>,
    pub contact_sla: Duration,
    /// How long before the contact deadline the owner is warned.
    pub contact_warning: Duration,
    pub access: Vec<AccessRule>,
    pub limits: Limits,
    pub ratio: Option<Ratio>,
    /// Pools that must be empty before this one opens.
    pub gates: Vec<PoolId>,
    pub rotation: Option<RotationWindow>,
    pub blind: bool,
    /// Releases, aging, refresh and health thresholds (the scheduler's rules for this pool).
    pub schedule: schedule::PoolSchedule,
    /// Which time each of its clocks counts: wall time, or its teams' working time.
    pub clocks: PoolClocks,
    /// Leads go only to reps covering their skills, until they waited long enough.
    pub skills: Option<crate::SkillMatch>,
}

impl Pool {
    /// Its type as health reports name it: the kind, with the tier for tiered pools
    /// ("tiered/hot").
    pub fn type_name(&self) -> String {
        match self.tier {
            Some(tier) => format!("{}/{}", self.kind.name(), tier.name()),
            None => self.kind.name().to_owned(),
        }
    }

    /// M3: the claim-velocity target of this pool's type (see [`type_claim_target`]).
    pub fn type_claim_target(&self) -> Duration {
        type_claim_target(self.tier)
    }
}

/// M3: the brief's claim-velocity target for pools of a tier — hot 30 minutes, cold 24 hours,
/// everything else (warm, and pools without a tier) 4 hours. A pool's own target defaults to it.
pub fn type_claim_target(tier: Option<Tier>) -> Duration {
    match tier {
        Some(Tier::Hot) => Duration::minutes(30),
        Some(Tier::Cold) => Duration::hours(24),
        _ => Duration::hours(4),
    }
}

/// "A claim here needs `claims` claims from `from` since the last claim here."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ratio {
    pub claims: u32,
    pub from: Vec<PoolId>,
    /// A claim counts once the lead was contacted while held, or kept this long (C6).
    pub min_hold: Duration,
}

impl Ratio {
    pub const DEFAULT_MIN_HOLD: Duration = Duration::minutes(30);
}

#[derive(Debug, Clone, PartialEq)]
pub struct RotationWindow {
    pub window: Duration,
    pub reps: Vec<RepId>,
    /// The pool's rotation clock: windows of wall time, or of its teams' working time.
    pub clock: PoolClock,
}

/// The rep whose exclusive window is open, and when it started and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowTurn {
    pub holder: RepId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl RotationWindow {
    /// The turn at `now`. In wall time, windows are aligned to the Unix epoch and repeat over
    /// the reps. In working time they run only while the pool's teams work, counted from the
    /// start of each (UTC) week, and each week's first window goes to the next rep in line.
    pub fn turn_at(&self, now: DateTime<Utc>) -> Option<WindowTurn> {
        let (index, start, end) = self.window_at(now, 0)?;
        let count = i64::try_from(self.reps.len()).ok().filter(|n| *n > 0)?;
        let holder = self.reps[usize::try_from(index.rem_euclid(count)).ok()?].clone();
        Some(WindowTurn { holder, start, end })
    }

    /// The turn that keeps new leads from `rep` at `now`: another rep's open window, in which
    /// the leads that entered the pool since it opened are that rep's alone.
    pub fn excluding_turn(&self, rep: &RepId, now: DateTime<Utc>) -> Option<WindowTurn> {
        self.turn_at(now).filter(|turn| &turn.holder != rep)
    }

    /// When `rep`'s next window starts (now, if it is open).
    pub fn next_turn_of(&self, rep: &RepId, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let current = self.turn_at(now)?;
        let position = self.reps.iter().position(|r| r == rep)?;
        let holder = self.reps.iter().position(|r| *r == current.holder)?;
        let ahead = (position + self.reps.len() - holder) % self.reps.len();
        Some(self.window_at(now, i64::try_from(ahead).ok()?)?.1)
    }

    /// The window `ahead` windows after the one open at `now`: its index (which rep's) and
    /// when it starts and ends.
    fn window_at(
        &self,
        now: DateTime<Utc>,
        ahead: i64,
    ) -> Option<(i64, DateTime<Utc>, DateTime<Utc>)> {
        let length = self.window.num_milliseconds().max(1);
        match &self.clock {
            PoolClock::Wall => {
                let index = now.timestamp_millis().div_euclid(length) + ahead;
                let start = DateTime::from_timestamp_millis(index.checked_mul(length)?)?;
                Some((index, start, start + self.window))
            }
            PoolClock::Working(working) => {
                let days = now.timestamp().div_euclid(86_400);
                // 1970-01-01 was a Thursday: weeks start on Mondays, 4 days later.
                let week = (days - 4).div_euclid(7);
                let week_start = DateTime::from_timestamp((week * 7 + 4) * 86_400, 0)?;
                let worked = working.between(week_start, now).num_milliseconds();
                let n = worked.div_euclid(length) + ahead;
                let at = |k: i64| -> Option<DateTime<Utc>> {
                    working.after(week_start, Duration::milliseconds(k.checked_mul(length)?))
                };
                Some((week + n, at(n)?, at(n + 1)?))
            }
        }
    }
}

/// What a rep may say of her own availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfAvailability {
    pub allowed: bool,
    pub while_on_call: bool,
    pub max_ahead: Duration,
}

impl Default for SelfAvailability {
    fn default() -> Self {
        Self {
            allowed: true,
            while_on_call: false,
            max_ahead: Duration::days(30),
        }
    }
}

impl Rotation {
    /// The shifts of this rotation `rep` is on that overlap `from`..`until`, as (start, end).
    pub fn shifts_of(
        &self,
        rep: &RepId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let length = self.shift_length.num_seconds().max(1);
        let count = i64::try_from(self.shifts.len()).unwrap_or(0);
        if count == 0 || until <= self.start {
            return Vec::new();
        }
        let first = (from.max(self.start) - self.start).num_seconds() / length;
        let last = (until - self.start).num_seconds().saturating_sub(1) / length;
        (first..=last)
            .filter(|k| {
                usize::try_from(k.rem_euclid(count))
                    .ok()
                    .is_some_and(|i| self.shifts[i].contains(rep))
            })
            .map(|k| {
                let start = self.start + Duration::seconds(k * length);
                (start, start + self.shift_length)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consequence {
    LosePoolAccess,
    Warn,
}

/// A3: the performance rating the scheduler computes daily.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceRules {
    pub measure: Measure,
    pub window: Duration,
    pub top_percent: u32,
    pub below_quota_under: Option<f64>,
    pub min_claims: u32,
    /// For [`Measure::WorkedVsQuota`].
    pub quota_per_day: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    OpportunityRate,
    WorkedVsQuota,
}

names!(Measure { OpportunityRate => "opportunity-rate", WorkedVsQuota => "worked-vs-quota" });

names!(Consequence { LosePoolAccess => "lose-pool-access", Warn => "warn" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acceptance {
    pub minimum_percent: u32,
    pub window: Duration,
    pub min_decisions: u32,
    pub consequence: Consequence,
}

impl Acceptance {
    /// Whether `accepted` out of `decided` assignments is below the minimum (only judged once
    /// enough were decided).
    pub fn is_below(&self, accepted: u32, decided: u32) -> bool {
        decided >= self.min_decisions.max(1) && accepted * 100 < self.minimum_percent * decided
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessRule {
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub seniority: BTreeSet<Seniority>,
    pub performance: BTreeSet<Performance>,
    pub regions: BTreeSet<String>,
    pub teams: BTreeSet<String>,
    pub reps: BTreeSet<RepId>,
    pub skills: Option<crate::SkillRequirement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadField {
    Email,
    Phone,
    Name,
    Company,
    CompanyDomain,
    Country,
    Region,
    Product,
    Industry,
    Source,
}

names!(LeadField {
    Email => "email",
    Phone => "phone",
    Name => "name",
    Company => "company",
    CompanyDomain => "companyDomain",
    Country => "country",
    Region => "region",
    Product => "product",
    Industry => "industry",
    Source => "source",
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qualification {
    pub min_score: i32,
    pub required_fields: Vec<LeadField>,
    pub excluded_domains: BTreeSet<String>,
    pub excluded_countries: BTreeSet<String>,
    /// Lowercase company names or domains.
    pub competitors: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateAction {
    Merge,
    Reject,
}

names!(DuplicateAction { Merge => "merge", Reject => "reject" });

#[derive(Debug, Clone, PartialEq)]
pub struct Duplicates {
    pub by_email: bool,
    pub by_company: bool,
    pub action: DuplicateAction,
}

impl Default for Duplicates {
    fn default() -> Self {
        Self {
            by_email: true,
            by_company: true,
            action: DuplicateAction::Reject,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    RoundRobin,
    Weighted,
    Territory,
}

names!(Strategy { RoundRobin => "round-robin", Weighted => "weighted", Territory => "territory" });

#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub strategy: Strategy,
    pub reps: Vec<RepId>,
    pub teams: Vec<String>,
    pub fallback_pool: Option<PoolId>,
    /// Only candidates covering the lead's skills, until it waited long enough.
    pub skills: Option<crate::SkillMatch>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Pool(PoolId),
    /// The pool with the highest minimum score at or below the lead's score.
    Tiers(Vec<PoolId>),
    Assign(Assign),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    pub regions: BTreeSet<String>,
    pub countries: BTreeSet<String>,
    pub products: BTreeSet<String>,
    pub industries: BTreeSet<String>,
    pub sources: BTreeSet<String>,
    pub languages: BTreeSet<String>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleTarget {
    One(Target),
    /// `(percent, target)`, percents summing to 100.
    Split(Vec<(u32, Target)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub criteria: Criteria,
    pub target: RuleTarget,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    pub rules: Vec<Rule>,
    pub default: Option<Target>,
}

/// A validated policy, ready to answer routing, access and assignment questions.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub teams: BTreeMap<String, Team>,
    pub reps: BTreeMap<RepId, Rep>,
    pub rotations: Vec<Rotation>,
    /// In document order.
    pub pools: Vec<Pool>,
    pub qualification: Qualification,
    pub duplicates: Duplicates,
    pub routing: Routing,
    /// Limits for every rep unless her team or she has her own.
    pub limits: Limits,
    pub acceptance: Option<Acceptance>,
    /// Whether a rep may reject a manager's assignment.
    pub manual_assignment_rejectable: bool,
    /// What a rep may say of her own availability.
    pub self_availability: SelfAvailability,
    /// Retired pools and the pool each drains to.
    pub retired_pools: BTreeMap<PoolId, PoolId>,
    /// Policy-wide health rules and claim quotas.
    pub health: schedule::HealthRules,
    /// How reps are rated from their results, if the policy computes performance (A3).
    pub performance: Option<PerformanceRules>,
    /// The document it was compiled from.
    pub document: PolicyDocument,
}

impl Policy {
    /// Whether a lead scoring `score` is a flash lead of the timed pool `pool` (P4): it skips
    /// the wait and is available as soon as it arrives.
    pub fn is_flash(&self, pool: &PoolId, score: i32) -> bool {
        self.pool(pool)
            .filter(|p| p.kind == PoolKind::Timed)
            .and_then(|p| p.schedule.release.as_ref())
            .and_then(|release| release.flash_min_score)
            .is_some_and(|min| score >= min)
    }

    pub fn pool(&self, id: &PoolId) -> Option<&Pool> {
        self.pools.iter().find(|pool| &pool.id == id)
    }

    /// When a lead claimed (or accepted) in `pool` at `at` must have been contacted: the
    /// pool's contact SLA on its contact-SLA clock (wall or working time).
    pub fn contact_due(&self, pool: &PoolId, at: DateTime<Utc>) -> DateTime<Utc> {
        self.deadline(pool, at, |clocks| &clocks.contact_sla)
    }

    /// When a lead pushed to a rep in `pool` at `at` must have been accepted: the same span on
    /// the pool's acceptance clock.
    pub fn acceptance_due(&self, pool: &PoolId, at: DateTime<Utc>) -> DateTime<Utc> {
        self.deadline(pool, at, |clocks| &clocks.acceptance)
    }

    fn deadline(
        &self,
        pool: &PoolId,
        at: DateTime<Utc>,
        clock: impl Fn(&PoolClocks) -> &PoolClock,
    ) -> DateTime<Utc> {
        match self.pool(pool) {
            Some(p) => clock(&p.clocks).after(at, p.contact_sla),
            None => at + crate::DEFAULT_CONTACT_SLA,
        }
    }

    /// From when the holder of a lead of `pool` due at `due` is warned (`contactWarning`
    /// before it, on the clock that set the deadline: acceptance for an assigned lead).
    pub fn warning_from(&self, pool: &PoolId, due: DateTime<Utc>, assigned: bool) -> DateTime<Utc> {
        match self.pool(pool) {
            Some(p) if assigned => p.clocks.acceptance.before(due, p.contact_warning),
            Some(p) => p.clocks.contact_sla.before(due, p.contact_warning),
            None => due - Duration::minutes(15),
        }
    }

    pub fn rep(&self, id: &RepId) -> Option<&Rep> {
        self.reps.get(id)
    }

    /// The rep whose `email` is `email` (case-insensitive).
    pub fn rep_with_email(&self, email: &str) -> Option<&Rep> {
        let email = email.trim().to_lowercase();
        self.reps
            .values()
            .find(|rep| rep.email.as_deref() == Some(email.as_str()))
    }

    /// The rep whose `login` is `login` (case-insensitive).
    pub fn rep_with_login(&self, login: &str) -> Option<&Rep> {
        let login = login.trim().to_lowercase();
        self.reps
            .values()
            .find(|rep| rep.login.as_deref() == Some(login.as_str()))
    }

    pub fn team_of(&self, rep: &Rep) -> Option<&Team> {
        rep.team.as_ref().and_then(|team| self.teams.get(team))
    }

    /// A rep's overall claim limits: hers, else her team's, else the policy's.
    pub fn limits_for(&self, rep: &Rep) -> Limits {
        let team = self.team_of(rep).map(|t| t.limits).unwrap_or_default();
        rep.limits.or(team).or(self.limits)
    }
}
