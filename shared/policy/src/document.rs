//! The policy document as ops teams write it (YAML, kept in git). Values here are unchecked:
//! enums, durations and times are strings, so validation can report *every* problem with its
//! path instead of stopping at the first. [`crate::compile`] turns a document into a
//! [`crate::Policy`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only `apiVersion` this build understands.
pub const API_VERSION: &str = "leadpool.dev/v1";
pub const KIND: &str = "Policy";

/// A Leadpool routing policy: teams, reps, pools, qualification, routing and access rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument {
    /// Always `leadpool.dev/v1`.
    pub api_version: String,
    /// Always `Policy`.
    pub kind: String,
    #[serde(default)]
    pub metadata: Metadata,
    /// Teams: their time zone and business hours, and who may claim outside them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamDoc>,
    /// Holiday calendars (per country, region or office) that teams name: their days off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<HolidayCalendarDoc>,
    /// Which clocks count working time — the business hours of the teams that work a pool, in
    /// their time zones, minus their holidays — instead of wall time, for every pool without a
    /// `workingTime` of its own. Unset: every clock is wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_time: Option<WorkingTimeDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reps: Vec<RepDoc>,
    /// On-call and weekend-duty rotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotations: Vec<RotationDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolDoc>,
    /// Pools this version removes, and where their leads go. Applying a policy that drops a
    /// pool still holding leads (in any state but closed, nurture, archived or rejected) is
    /// refused unless it names the pool here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_pools: Vec<RetiredPoolDoc>,
    #[serde(default)]
    pub qualification: QualificationDoc,
    #[serde(default)]
    pub duplicates: DuplicatesDoc,
    #[serde(default)]
    pub routing: RoutingDoc,
    /// Claim limits for every rep, unless her team or she has her own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<AcceptanceDoc>,
    /// How managers' assignments (AssignLead, ReassignLeads) behave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_assignment: Option<ManualAssignmentDoc>,
    /// What a rep may say of her own availability (SetRepAvailability on herself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_availability: Option<SelfAvailabilityDoc>,
    /// X2: the life of an unclaimed lead in every pool that has no `lifecycle` of its own, as
    /// steps in order of age (since the lead entered its pool). Replaces `aging`: a policy uses
    /// one or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Vec<LifecycleStepDoc>>,
    /// The older form of the first four lifecycle steps: age-based priority, escalation and
    /// forced assignment for every pool, unless a pool has its own `aging`. Unset values take
    /// the defaults (12h, 24h, 48h, 72h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aging: Option<AgingDoc>,
    /// Pool-health thresholds and targets for every pool, and claim-quota tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthDoc>,
    /// A3: compute each rep's performance tier from her results, daily, instead of (or as well
    /// as) setting it by hand. A `performance` set on a rep always wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceDoc>,
}

/// Claim limits. Each is a rolling window over the claims a rep made (releasing a lead does not
/// give a claim back). Unset values fall back to the next wider level: rep → team → policy →
/// the claim service's defaults. On a pool, the limits count only claims from that pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsDoc {
    /// Claims in any 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
    /// Claims in any hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<u32>,
    /// Open leads (claimed, assigned or contacted) a rep may hold; no new claims at the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_leads: Option<u32>,
    /// After `after` claims in a row, a pause of `pause` before the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<CooldownDoc>,
    /// How long a rep may not claim again a lead she released or lost to the contact SLA, so
    /// release-and-reclaim cannot reset an SLA. E.g. `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_embargo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CooldownDoc {
    /// Claims that start a cooldown.
    pub after: u32,
    /// How long the cooldown lasts, e.g. `15m`.
    pub pause: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeamDoc {
    /// Lowercase slug, e.g. `emea`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When everyone on the team may claim. Without it, claiming is never time-restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHoursDoc>,
    /// Rotation whose current shift may claim outside business hours on business days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hours: Option<String>,
    /// Rotation whose current shift may claim on days that are not business days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekends: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsDoc>,
    /// Managers (reps with role `manager`) who oversee this team besides its own managers: they
    /// see, assign, reassign and return its leads and set its reps' availability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managers: Vec<String>,
    /// Holiday calendars (`holidays[].id`) whose days the team does not work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// Days off: dated ones and ones every year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HolidayCalendarDoc {
    /// Lowercase slug, e.g. `de-be`.
    pub id: String,
    /// Dates, `2026-04-03`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<String>,
    /// Every year, month and day: `12-25`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub yearly: Vec<String>,
}

/// Working time instead of wall time for some of a pool's clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkingTimeDoc {
    /// The teams that work the pool: their business hours (each in its time zone, together)
    /// minus their holidays are the working time. Each must have `businessHours`.
    pub teams: Vec<String>,
    /// Which clocks count working time: `contactSla`, `lifecycle` (every lifecycle step's
    /// age), `rotation` (rotation windows), `acceptance` (how long an assigned lead waits to be
    /// accepted). Default: all four.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clocks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BusinessHoursDoc {
    /// Business days: `mon` … `sun`. Default Monday to Friday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// Local start time, `HH:MM`.
    pub from: String,
    /// Local end time, `HH:MM` (exclusive).
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RepDoc {
    /// Lowercase slug; her token's subject is `reps/{id}`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `sdr`, `ae` or `manager`.
    pub role: String,
    /// Her email address at the company's identity provider: a token naming her by email
    /// (`auth.claims.match: email`) is hers. Unique among reps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Her login at the identity provider (`auth.claims.match: login`, e.g. a
    /// `preferred_username`). Unique among reps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// `junior`, `standard` (default) or `senior`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seniority: Option<String>,
    /// `top`, `on-quota` (default) or `below-quota`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    /// Languages she speaks with contacts: `de`, `en`, `en-us`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Inactive reps neither claim nor receive assignments. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Share in weighted assignment. Default by performance: top 3, on-quota 2, below-quota 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Vacation, out of office, …: no assignments during these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<AbsenceDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AbsenceDoc {
    /// A date (`2026-03-02`, start of that day in the rep's team time zone) or an RFC 3339 time.
    pub from: String,
    /// A date (end of that day) or an RFC 3339 time.
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotationDoc {
    pub id: String,
    /// Who is on duty in each shift, in turn: `[[alice], [bob, carol]]`.
    pub shifts: Vec<Vec<String>>,
    /// How long one shift lasts, e.g. `1w`, `24h`.
    pub shift_length: String,
    /// When the first shift starts (RFC 3339); the shifts repeat from there.
    pub start: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `open`, `segmented`, `tiered` or `timed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For tiered pools: `hot`, `warm` or `cold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The lowest score this pool takes when a rule routes by tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<i32>,
    /// What the pool holds, for segmented pools (documentation for people and `explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentDoc>,
    /// A claimed lead not contacted within this returns to the pool. Default `2h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_sla: Option<String>,
    /// How long before the contact deadline the owner is warned (GetRepStatus marks the lead
    /// due soon). Default 15m, or half the SLA if that is shorter; must be shorter than the SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_warning: Option<String>,
    /// Who may browse and claim. Empty: every rep (an open pool).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessRuleDoc>,
    /// Limits on claims from this pool, per rep, on top of her overall limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsDoc>,
    /// Claim ratio: a claim from this pool needs this many claims from other pools since the
    /// rep's last claim here ("1 hot requires 2 warm").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<RatioDoc>,
    /// Tier gating: this pool opens only while these pools hold no available lead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opens_when_empty: Vec<String>,
    /// Rotation: each listed rep in turn gets an exclusive window on the leads that enter the
    /// pool during it; afterwards they are open to everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationWindowDoc>,
    /// Blind view: browsing hides who a lead is (name, email, phone, company) until it is
    /// claimed; score, region, product and source stay visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind: Option<bool>,
    /// For timed pools: when waiting leads are released. Default: every hour, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseDoc>,
    /// X2: this pool's lifecycle, replacing the policy's as a whole (steps it does not list
    /// are off). Replaces `aging` and `refresh`: a pool uses one form or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Vec<LifecycleStepDoc>>,
    /// This pool's aging rules, replacing the policy's `aging` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aging: Option<AgingDoc>,
    /// The daily refresh cycle: old leads to a priority pool, to nurture, archived. Off unless
    /// set. Ages count from pool entry, as in `lifecycle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshDoc>,
    /// This pool's health thresholds, replacing the policy's `health` key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<PoolHealthDoc>,
    /// Working time for this pool's clocks, replacing the policy's `workingTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_time: Option<WorkingTimeDoc>,
    /// Leads go only to reps covering their product, industry or language (claiming and
    /// forced assignment), until they waited `relaxAfter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<SkillMatchDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RatioDoc {
    /// Worked claims needed from `from` pools since the last claim from this pool.
    pub claims: u32,
    pub from: Vec<String>,
    /// C6: a claim counts only once it was worked — the lead contacted (or its outcome
    /// recorded) while she held it, or kept at least this long. Default `30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_hold: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotationWindowDoc {
    /// Length of each rep's exclusive window, e.g. `15m`.
    pub window: String,
    /// The reps taking turns, in order.
    pub reps: Vec<String>,
}

/// A pool no longer in the policy, and the pool its leads move to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetiredPoolDoc {
    pub id: String,
    /// A pool of this policy. Its leads move there with their state (waiting leads of a timed
    /// pool become available unless the target is timed too) and a history row each.
    pub drain_to: String,
}

/// Managers' assignments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManualAssignmentDoc {
    /// Whether the rep may reject a lead a manager assigned to her. Default false: no choice,
    /// and it does not count against her acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejectable: Option<bool>,
}

/// Reps setting themselves away and back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SelfAvailabilityDoc {
    /// Whether reps may at all. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// Whether she may be away during her shift of an on-call or weekend rotation. Default
    /// false: her manager moves the shift, or sets her away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_on_call: Option<bool>,
    /// How far ahead an absence may end, e.g. `30d` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ahead: Option<String>,
}

/// Minimum acceptance of auto-assigned leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcceptanceDoc {
    /// The lowest acceptable share of assignments accepted, in percent, e.g. 80.
    pub minimum: u32,
    /// Over which period assignments count, e.g. `30d`.
    pub window: String,
    /// Below this many decided assignments in the window, the rate is not judged. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_decisions: Option<u32>,
    /// `lose-pool-access` (no claiming from pools while below) or `warn` (reported only).
    pub consequence: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SegmentDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// A rep matching every criterion given (each list: any of its values) may claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessRuleDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `sdr`, `ae`, `manager`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// `junior`, `standard`, `senior`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seniority: Vec<String>,
    /// `top`, `on-quota`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performance: Vec<String>,
    /// The rep covers one of these regions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reps: Vec<String>,
    /// The rep covers products, industries or languages: of each list given, any one (or,
    /// with `match: all`, every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<SkillsDoc>,
}

/// Skills an access rule requires of a rep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SkillsDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// `any` (default: one value of each list) or `all` (every value).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matching: Option<String>,
}

/// A lead goes only to reps covering its own product, industry or language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SkillMatchDoc {
    /// Which of the lead's attributes a rep must cover: `product`, `industry`, `language`. A
    /// lead without a value asks nothing of that skill.
    #[serde(rename = "match")]
    pub matching: Vec<String>,
    /// After this wait (since it entered the pool, on the pool's lifecycle clock; for an
    /// assignment rule, since it arrived) any rep of the pool may take it. Unset: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relax_after: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QualificationDoc {
    /// Leads scoring below this are rejected. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<i32>,
    /// Fields a lead must have: `email`, `phone`, `name`, `company`, `companyDomain`,
    /// `country`, `region`, `product`, `industry`, `source`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub exclude: ExcludeDoc,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExcludeDoc {
    /// Email or company domains (and their subdomains) to reject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// ISO 3166-1 alpha-2 country codes to reject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Competitors, by company name or domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub competitors: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DuplicatesDoc {
    /// What makes two leads the same: `email`, `company` (same company domain and name).
    /// Default both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_on: Vec<String>,
    /// `merge` (fold the new submission into the existing lead) or `reject` (default; keep the
    /// new lead as rejected, naming the original).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoutingDoc {
    /// Tried in order; the first whose `match` holds decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDoc>,
    /// Where a lead goes when no rule matches. Default: by tiers over every pool with a
    /// `minScore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<TargetDoc>,
}

/// A routing rule: when `match` holds, the lead goes to exactly one of `pool`, `tiers`,
/// `assign` or `split`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleDoc {
    pub name: String,
    #[serde(default, rename = "match")]
    pub criteria: MatchDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Pools to choose from by score: the one with the highest `minScore` at or below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignDoc>,
    /// Shares summing to 100, e.g. 60% to a pool and 40% auto-assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<ShareDoc>>,
}

/// Every criterion given must hold; a list holds when the lead has any of its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_score: Option<i32>,
}

/// Where leads go: exactly one of `pool`, `tiers`, `assign`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ShareDoc {
    /// 1..=100; the shares of a split sum to 100.
    pub percent: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignDoc>,
}

/// Push the lead to one rep ("auto-assignment").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignDoc {
    /// `round-robin`, `weighted` (favouring top performers) or `territory` (a rep covering
    /// the lead's region, in turn).
    pub strategy: String,
    /// The candidates: these reps …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reps: Vec<String>,
    /// … and the reps of these teams. Neither given: every rep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// Where the lead goes when no candidate is available. Without it, the lead waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_pool: Option<String>,
    /// Only candidates covering the lead's product, industry or language, until it waited
    /// `relaxAfter` since it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<SkillMatchDoc>,
}

/// When a timed pool releases its waiting leads: at fixed local times and/or every interval
/// from local midnight, in a team's (or the given) time zone. Everyone sees a release at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReleaseDoc {
    /// Local times of day, `HH:MM`, e.g. `[08:00]` for a daily morning release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at: Vec<String>,
    /// A release every interval from local midnight: `1h` (hourly drops), `2h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// Release days: `mon` … `sun`. Default every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// The team whose time zone the times are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// An IANA time zone, when no team is named. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Flash release: leads scoring at least this are released at once, not on the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_min_score: Option<i32>,
}

/// S3/S4: how unclaimed leads age. Each value is a duration counted from when the lead entered
/// its pool, or `never` to switch that step off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgingDoc {
    /// From this age a lead is moved into the top 50% of its pool by priority. Default `12h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_half_after: Option<String>,
    /// From this age, into the top 10%. Default `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_tenth_after: Option<String>,
    /// From this age the lead leaves the pool, escalated to a manager. Default `48h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<String>,
    /// From this age (escalated or not) the lead is assigned to the next available rep, no
    /// choice. Default `72h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_after: Option<String>,
    /// Who forced assignments go to. Default: round-robin over the reps (not managers) who may
    /// claim from the pool at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignDoc>,
}

/// S5: the daily refresh cycle, by age since the lead entered its pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshDoc {
    /// Where leads older than `moveAfter` go (the priority pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_pool: Option<String>,
    /// Default `24h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_after: Option<String>,
    /// Unclaimed leads older than this go to a nurture campaign. Default `72h`; `never` for off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nurture_after: Option<String>,
    /// Unclaimed leads older than this are archived. Default `7d`; `never` for off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_after: Option<String>,
}

/// A3: how the scheduler rates reps every day, over a trailing window of their history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PerformanceDoc {
    /// `opportunity-rate`: the share of her claims in the window whose lead she turned into an
    /// opportunity (or a customer). `worked-vs-quota`: the claims she worked (contacted or
    /// closed) per day, against `quotaPerDay`.
    pub measure: String,
    /// The trailing window. Default `30d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// The best this many percent of rated reps are `top` (ties at the line included).
    /// Default 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_percent: Option<u32>,
    /// Reps whose figure is below this are `below-quota` (no pool access; they receive
    /// auto-assigned leads). Default: 1.0 for `worked-vs-quota` (under quota), none for
    /// `opportunity-rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_quota_under: Option<f64>,
    /// Reps with fewer claims in the window are not rated and keep the default. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_claims: Option<u32>,
    /// For `worked-vs-quota`: worked claims a day that make the quota. Default
    /// `health.minClaimsPerDay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_per_day: Option<u32>,
}

/// X2: one step of an unclaimed lead's life in its pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LifecycleStepDoc {
    /// The lead's age in its pool (since it entered the pool) at which the step is taken, e.g.
    /// `12h` or `7d`. Steps are listed in order of age.
    pub after: String,
    /// What happens to the lead.
    pub then: LifecycleAction,
    /// For `move`: the pool the lead moves to, where its age starts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// For `force-assign`: who the lead goes to. Default: round-robin over the reps (not
    /// managers) who may claim from the pool at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignDoc>,
    /// For `overflow`: the seniority of the reps it overflows to (they need no access to the
    /// pool). Default `[junior]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seniority: Vec<String>,
}

/// What a lifecycle step does. `top-half`, `top-tenth`, `escalate` and `force-assign` run with
/// the aging and forced-assignment jobs; `move`, `nurture` and `archive` take the lead out of
/// the pool and run with the daily refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleAction {
    /// Raise the lead's priority into the top 50% of its pool.
    TopHalf,
    /// Raise it into the top 10%.
    TopTenth,
    /// Take it out of the claimable pool into the managers' escalation queue.
    Escalate,
    /// Assign it to the next available rep, no choice (escalated or not).
    ForceAssign,
    /// P3 overflow: push it to a rep of lower seniority (`seniority`, default junior) on duty
    /// and under her caps, as an assignment she may accept or reject.
    Overflow,
    /// Move it, unclaimed, to another pool (`to`).
    Move,
    /// Hand it to a nurture campaign.
    Nurture,
    /// Archive it.
    Archive,
}

impl LifecycleAction {
    /// The word the document uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopHalf => "top-half",
            Self::TopTenth => "top-tenth",
            Self::Escalate => "escalate",
            Self::ForceAssign => "force-assign",
            Self::Overflow => "overflow",
            Self::Move => "move",
            Self::Nurture => "nurture",
            Self::Archive => "archive",
        }
    }

    /// Whether the step takes the lead out of its pool's life for good.
    pub fn leaves_pool(self) -> bool {
        matches!(self, Self::Move | Self::Nurture | Self::Archive)
    }
}

/// M1/M3/S6 for one pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolHealthDoc {
    /// Depth (available leads) that raises a warning. Default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<u32>,
    /// Depth that is critical. Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<u32>,
    /// Target time from pool entry to claim. Default by tier: hot `30m`, cold `24h`, else `4h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_target: Option<String>,
    /// Backpressure: while the pool is critical, new leads from these sources are held back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_sources: Vec<String>,
}

/// M1–M7 defaults for every pool, and claim quotas (S6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthDoc {
    /// Depth that raises a warning. Default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<u32>,
    /// Depth that is critical. Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<u32>,
    /// Alert when claims ÷ new leads stays below this. Default 0.8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depletion_alert_below: Option<f64>,
    /// … for this many whole days in a row. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depletion_alert_days: Option<u32>,
    /// Alert when more than this percent of a pool is older than 24 hours. Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aged_alert_percent: Option<u32>,
    /// Pools receiving fewer new leads a week are reported as candidates to merge. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_volume_per_week: Option<u32>,
    /// A segmented pool receiving more than this many times its fair share of the segmented
    /// pools' new leads (or less than its share divided by it) is reported as unbalanced.
    /// Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbalanced_segment_factor: Option<f64>,
    /// Claim quota: each rep (not managers) should claim at least this many leads a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_claims_per_day: Option<u32>,
}
