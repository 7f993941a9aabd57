//! Validation: a [`PolicyDocument`] becomes a [`Policy`], or every problem is reported with
//! its path (`pools[3].access[0].roles[1]`) and a message saying how to fix it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use leadpool_domain::{PoolId, RepId};

mod lifecycle;
mod schedule;
mod skills;
mod working_time;

use crate::document::{
    API_VERSION, AbsenceDoc, AccessRuleDoc, AssignDoc, KIND, LimitsDoc, MatchDoc, PolicyDocument,
    RuleDoc, TargetDoc,
};
use crate::model::{
    Absence, Acceptance, AccessRule, Assign, BusinessHours, Consequence, Cooldown, Criteria,
    DuplicateAction, Duplicates, HealthRules, LeadField, Limits, Measure, Performance,
    PerformanceRules, Policy, Pool, PoolClock, PoolKind, Qualification, Ratio, Rep, Role, Rotation,
    RotationWindow, Routing, Rule, RuleTarget, SelfAvailability, Seniority, Strategy, Target, Team,
    Tier, default_weight,
};

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Where, in the document's own key names: `pools[3].access[0].roles[1]`.
    pub path: String,
    pub message: String,
}

impl PolicyError {
    /// Every problem in one line, for a log or an internal error.
    pub fn join(errors: &[PolicyError]) -> String {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

pub const DEFAULT_CONTACT_SLA: Duration = Duration::hours(2);
/// No policy duration is longer: every time computed from one stays far inside what the
/// database and the API can represent.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
const MAX_CONTACT_SLA: Duration = Duration::days(30);

/// Collects errors while walking the document.
pub(crate) struct Checker {
    errors: Vec<PolicyError>,
}

impl Checker {
    /// A checker whose findings are thrown away: for values already checked elsewhere.
    pub(crate) fn scratch() -> Self {
        Self { errors: Vec::new() }
    }

    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(PolicyError {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn choice<T: Copy>(
        &mut self,
        path: &str,
        value: &str,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Option<T> {
        let found = parse(value);
        if found.is_none() {
            self.error(
                path,
                format!("`{value}` is not one of: {}", names.join(", ")),
            );
        }
        found
    }

    pub(crate) fn choices<T: Copy + Ord>(
        &mut self,
        path: &str,
        values: &[String],
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> BTreeSet<T> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.choice(&format!("{path}[{i}]"), v, parse, names))
            .collect()
    }

    fn slug(&mut self, path: &str, id: &str, what: &str) -> bool {
        let ok = PoolId::parse(id, path).is_ok();
        if !ok {
            self.error(
                path,
                format!("`{id}` is not a valid {what} id: use lowercase letters, digits and '-', starting with a letter"),
            );
        }
        ok
    }

    pub(crate) fn duration(&mut self, path: &str, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) if d > MAX_DURATION => {
                self.error(
                    path,
                    format!(
                        "`{text}` is longer than the longest duration a policy may set, 100 years"
                    ),
                );
                None
            }
            Ok(d) if !d.is_zero() => match Duration::from_std(d) {
                Ok(d) => Some(d),
                Err(_) => {
                    self.error(path, format!("`{text}` cannot be represented"));
                    None
                }
            },
            Ok(_) => {
                self.error(path, "must be longer than zero");
                None
            }
            Err(e) => {
                self.error(
                    path,
                    format!("`{text}` is not a duration such as 90s, 15m, 2h or 1w ({e})"),
                );
                None
            }
        }
    }

    pub(crate) fn score(&mut self, path: &str, score: i32) {
        if !(0..=100).contains(&score) {
            self.error(path, format!("{score} is outside 0..=100"));
        }
    }

    /// Lowercased tags; segment values compare case-insensitively.
    fn tags(values: &[String]) -> BTreeSet<String> {
        values
            .iter()
            .map(|v| v.trim().to_ascii_lowercase())
            .collect()
    }

    fn countries(&mut self, path: &str, values: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, value) in values.iter().enumerate() {
            let code = value.trim().to_ascii_uppercase();
            if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
                out.insert(code);
            } else {
                self.error(
                    format!("{path}[{i}]"),
                    format!("`{value}` is not an ISO 3166-1 alpha-2 code such as DE"),
                );
            }
        }
        out
    }
}

/// Checks `document` and builds the policy it describes, or returns every problem found.
pub fn compile(document: &PolicyDocument) -> Result<Policy, Vec<PolicyError>> {
    let mut c = Checker { errors: Vec::new() };
    if document.api_version != API_VERSION {
        c.error(
            "apiVersion",
            format!(
                "`{}` is not supported; use {API_VERSION}",
                document.api_version
            ),
        );
    }
    if document.kind != KIND {
        c.error(
            "kind",
            format!("`{}` is not supported; use {KIND}", document.kind),
        );
    }

    let rotation_ids = index_ids(
        &mut c,
        "rotations",
        document.rotations.iter().map(|r| r.id.as_str()),
        "rotation",
    );
    let team_ids = index_ids(
        &mut c,
        "teams",
        document.teams.iter().map(|t| t.id.as_str()),
        "team",
    );
    let rep_ids = index_ids(
        &mut c,
        "reps",
        document.reps.iter().map(|r| r.id.as_str()),
        "rep",
    );
    let pool_ids = index_ids(
        &mut c,
        "pools",
        document.pools.iter().map(|p| p.id.as_str()),
        "pool",
    );
    let refs = References {
        teams: &team_ids,
        reps: &rep_ids,
        pools: &pool_ids,
        pools_with_min_score: document
            .pools
            .iter()
            .filter(|p| p.min_score.is_some())
            .map(|p| p.id.as_str())
            .collect(),
    };

    let calendars = working_time::compile_holidays(&mut c, document);
    let mut teams = compile_teams(&mut c, document, &rotation_ids, &calendars);
    let reps = compile_reps(&mut c, document, &refs, &teams);
    compile_team_managers(&mut c, document, &reps, &mut teams);
    let rotations = compile_rotations(&mut c, document, &refs);
    let pools = compile_pools(&mut c, document, &refs, &teams);
    let qualification = compile_qualification(&mut c, document);
    let duplicates = compile_duplicates(&mut c, document);
    let routing = compile_routing(&mut c, document, &refs);
    let limits = compile_limits(&mut c, "limits", document.limits.as_ref());
    let acceptance = compile_acceptance(&mut c, document);
    let retired_pools = compile_retired_pools(&mut c, document, &refs);
    let health = schedule::compile_health(&mut c, document, &refs);
    let performance = compile_performance(&mut c, document, &health);
    let self_availability = compile_self_availability(&mut c, document);

    // Nothing the document lists may be left out in silence: each item compiled, or an error
    // above says why it did not.
    if c.errors.is_empty() {
        for (section, listed, compiled) in [
            ("teams", document.teams.len(), teams.len()),
            ("reps", document.reps.len(), reps.len()),
            ("rotations", document.rotations.len(), rotations.len()),
            ("pools", document.pools.len(), pools.len()),
            (
                "routing.rules",
                document.routing.rules.len(),
                routing.rules.len(),
            ),
        ] {
            if listed != compiled {
                c.error(
                    section,
                    format!("lists {listed} but only {compiled} could be compiled, without an error saying why: please report this"),
                );
            }
        }
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(Policy {
        name: document.metadata.name.clone(),
        teams,
        reps,
        rotations,
        pools,
        qualification,
        duplicates,
        routing,
        limits,
        acceptance,
        manual_assignment_rejectable: document
            .manual_assignment
            .as_ref()
            .and_then(|m| m.rejectable)
            .unwrap_or(false),
        self_availability,
        retired_pools,
        health,
        performance,
        document: document.clone(),
    })
}

/// Each retired pool: no longer a pool of the document, named once, draining to one that is.
fn compile_retired_pools(
    c: &mut Checker,
    doc: &PolicyDocument,
    refs: &References<'_>,
) -> BTreeMap<PoolId, PoolId> {
    let mut retired = BTreeMap::new();
    for (i, entry) in doc.retired_pools.iter().enumerate() {
        let path = format!("retiredPools[{i}]");
        let Ok(id) = PoolId::parse(&entry.id, "id") else {
            c.error(
                format!("{path}.id"),
                format!("`{}` is not a pool id", entry.id),
            );
            continue;
        };
        if refs.pools.contains_key(entry.id.as_str()) {
            c.error(
                format!("{path}.id"),
                format!(
                    "`{}` is still a pool of this policy; remove it from `pools` to retire it",
                    entry.id
                ),
            );
            continue;
        }
        let Some(to) = refs.pool(c, &format!("{path}.drainTo"), &entry.drain_to) else {
            continue;
        };
        if retired.insert(id, to).is_some() {
            c.error(
                format!("{path}.id"),
                format!("`{}` is retired twice", entry.id),
            );
        }
    }
    retired
}

fn compile_self_availability(c: &mut Checker, doc: &PolicyDocument) -> SelfAvailability {
    let default = SelfAvailability::default();
    let Some(own) = &doc.self_availability else {
        return default;
    };
    SelfAvailability {
        allowed: own.allowed.unwrap_or(default.allowed),
        while_on_call: own.while_on_call.unwrap_or(default.while_on_call),
        max_ahead: own
            .max_ahead
            .as_ref()
            .and_then(|ahead| c.duration("selfAvailability.maxAhead", ahead))
            .unwrap_or(default.max_ahead),
    }
}

fn compile_acceptance(c: &mut Checker, doc: &PolicyDocument) -> Option<Acceptance> {
    let a = doc.acceptance.as_ref()?;
    if !(1..=100).contains(&a.minimum) {
        c.error(
            "acceptance.minimum",
            format!("{} is outside 1..=100 (percent)", a.minimum),
        );
    }
    let window = c.duration("acceptance.window", &a.window);
    let consequence = c.choice(
        "acceptance.consequence",
        &a.consequence,
        Consequence::from_name,
        Consequence::NAMES,
    );
    Some(Acceptance {
        minimum_percent: a.minimum,
        window: window?,
        min_decisions: a.min_decisions.unwrap_or(5),
        consequence: consequence?,
    })
}

fn compile_performance(
    c: &mut Checker,
    doc: &PolicyDocument,
    health: &HealthRules,
) -> Option<PerformanceRules> {
    let p = doc.performance.as_ref()?;
    let measure = c.choice(
        "performance.measure",
        &p.measure,
        Measure::from_name,
        Measure::NAMES,
    );
    let window = match &p.window {
        Some(window) => c.duration("performance.window", window),
        None => Some(Duration::days(30)),
    };
    let top_percent = p.top_percent.unwrap_or(25);
    if !(1..=100).contains(&top_percent) {
        c.error(
            "performance.topPercent",
            format!("{top_percent} is outside 1..=100 (percent)"),
        );
    }
    if let Some(under) = p.below_quota_under
        && !(under.is_finite() && under >= 0.0)
    {
        c.error(
            "performance.belowQuotaUnder",
            "must be a figure of 0 or more",
        );
    }
    let quota_per_day = p.quota_per_day.or(health.min_claims_per_day);
    if measure == Some(Measure::WorkedVsQuota) && quota_per_day.is_none_or(|q| q == 0) {
        c.error(
            "performance.quotaPerDay",
            "`worked-vs-quota` needs a daily quota of at least 1 (here or `health.minClaimsPerDay`)",
        );
    }
    let measure = measure?;
    Some(PerformanceRules {
        measure,
        window: window?,
        top_percent,
        below_quota_under: p.below_quota_under.or(match measure {
            Measure::WorkedVsQuota => Some(1.0),
            Measure::OpportunityRate => None,
        }),
        min_claims: p.min_claims.unwrap_or(5),
        quota_per_day: quota_per_day.unwrap_or(0),
    })
}

fn compile_limits(c: &mut Checker, path: &str, limits: Option<&LimitsDoc>) -> Limits {
    let Some(limits) = limits else {
        return Limits::default();
    };
    let mut at_least_one = |key: &str, value: Option<u32>| {
        if value == Some(0) {
            c.error(
                format!("{path}.{key}"),
                "must be at least 1; leave it out for no limit",
            );
        }
        value
    };
    let per_day = at_least_one("perDay", limits.per_day);
    let per_hour = at_least_one("perHour", limits.per_hour);
    let active_leads = at_least_one("activeLeads", limits.active_leads);
    let cooldown = limits.cooldown.as_ref().and_then(|cooldown| {
        if cooldown.after == 0 {
            c.error(format!("{path}.cooldown.after"), "must be at least 1");
        }
        c.duration(&format!("{path}.cooldown.pause"), &cooldown.pause)
            .map(|pause| Cooldown {
                after: cooldown.after,
                pause,
            })
    });
    let reclaim_embargo = limits
        .reclaim_embargo
        .as_ref()
        .and_then(|text| c.duration(&format!("{path}.reclaimEmbargo"), text));
    Limits {
        per_day,
        per_hour,
        active_leads,
        cooldown,
        reclaim_embargo,
    }
}

pub(crate) struct References<'a> {
    teams: &'a BTreeMap<String, usize>,
    reps: &'a BTreeMap<String, usize>,
    pools: &'a BTreeMap<String, usize>,
    pools_with_min_score: HashSet<&'a str>,
}

impl References<'_> {
    fn rep(&self, c: &mut Checker, path: &str, id: &str) -> Option<RepId> {
        if self.reps.contains_key(id) {
            RepId::parse(id, path).ok()
        } else {
            c.error(
                path,
                format!("names rep `{id}`, which the policy does not define"),
            );
            None
        }
    }

    pub(crate) fn team(&self, c: &mut Checker, path: &str, id: &str) -> Option<String> {
        if self.teams.contains_key(id) {
            Some(id.to_owned())
        } else {
            c.error(
                path,
                format!("names team `{id}`, which the policy does not define"),
            );
            None
        }
    }

    pub(crate) fn pool(&self, c: &mut Checker, path: &str, id: &str) -> Option<PoolId> {
        if self.pools.contains_key(id) {
            PoolId::parse(id, path).ok()
        } else {
            c.error(
                path,
                format!("names pool `{id}`, which the policy does not define"),
            );
            None
        }
    }
}

/// Checks ids are valid and unique; returns id → position.
fn index_ids<'a>(
    c: &mut Checker,
    section: &str,
    ids: impl Iterator<Item = &'a str>,
    what: &str,
) -> BTreeMap<String, usize> {
    let mut index = BTreeMap::new();
    for (i, id) in ids.enumerate() {
        let path = format!("{section}[{i}].id");
        if c.slug(&path, id, what)
            && let Some(first) = index.insert(id.to_owned(), i)
        {
            c.error(
                path,
                format!("`{id}` is already defined at {section}[{first}]"),
            );
            index.insert(id.to_owned(), first);
        }
    }
    index
}

fn compile_teams(
    c: &mut Checker,
    doc: &PolicyDocument,
    rotations: &BTreeMap<String, usize>,
    calendars: &BTreeMap<String, working_time::Holidays>,
) -> BTreeMap<String, Team> {
    let mut teams = BTreeMap::new();
    for (i, team) in doc.teams.iter().enumerate() {
        let path = format!("teams[{i}]");
        let time_zone = match team.time_zone.as_deref() {
            None => Tz::UTC,
            Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
                c.error(
                    format!("{path}.timeZone"),
                    format!("`{name}` is not an IANA time zone such as Europe/Berlin"),
                );
                Tz::UTC
            }),
        };
        let business_hours = team.business_hours.as_ref().and_then(|hours| {
            let days = schedule::weekdays(
                c,
                &format!("{path}.businessHours.days"),
                &hours.days,
                [true, true, true, true, true, false, false],
            );
            let from = clock_time(c, &format!("{path}.businessHours.from"), &hours.from);
            let to = clock_time(c, &format!("{path}.businessHours.to"), &hours.to);
            match (from, to) {
                (Some(from), Some(to)) if from < to => Some(BusinessHours { days, from, to }),
                (Some(_), Some(_)) => {
                    c.error(
                        format!("{path}.businessHours"),
                        "`from` must be earlier than `to`",
                    );
                    None
                }
                _ => None,
            }
        });
        let mut rotation = |key: &str, id: &Option<String>| {
            id.as_ref().and_then(|id| {
                let found = rotations.get(id).copied();
                if found.is_none() {
                    c.error(
                        format!("{path}.{key}"),
                        format!("names rotation `{id}`, which the policy does not define"),
                    );
                }
                found
            })
        };
        let after_hours = rotation("afterHours", &team.after_hours);
        let weekends = rotation("weekends", &team.weekends);
        let limits = compile_limits(c, &format!("{path}.limits"), team.limits.as_ref());
        let (holidays, yearly_holidays) =
            working_time::team_holidays(c, &path, &team.holidays, calendars);
        teams.insert(
            team.id.clone(),
            Team {
                limits,
                holidays,
                yearly_holidays,
                id: team.id.clone(),
                name: team.name.clone().unwrap_or_else(|| team.id.clone()),
                time_zone,
                business_hours,
                after_hours,
                weekends,
                managers: BTreeSet::new(),
            },
        );
    }
    teams
}

/// The managers each team names: reps of the policy with role `manager`.
fn compile_team_managers(
    c: &mut Checker,
    doc: &PolicyDocument,
    reps: &BTreeMap<RepId, Rep>,
    teams: &mut BTreeMap<String, Team>,
) {
    for (i, team) in doc.teams.iter().enumerate() {
        for (m, id) in team.managers.iter().enumerate() {
            let path = format!("teams[{i}].managers[{m}]");
            let rep = RepId::parse(id, &path)
                .ok()
                .and_then(|id| reps.get(&id).map(|rep| (id, rep.role)));
            match rep {
                Some((id, Role::Manager)) => {
                    if let Some(team) = teams.get_mut(&team.id) {
                        team.managers.insert(id);
                    }
                }
                Some(_) => c.error(path, format!("`{id}` is not a manager (role `manager`)")),
                None => c.error(
                    path,
                    format!("names rep `{id}`, which the policy does not define"),
                ),
            }
        }
    }
}

pub(crate) fn clock_time(c: &mut Checker, path: &str, text: &str) -> Option<NaiveTime> {
    let parsed = NaiveTime::parse_from_str(text, "%H:%M").ok();
    if parsed.is_none() {
        c.error(path, format!("`{text}` is not a time of day such as 08:00"));
    }
    parsed
}

fn compile_reps(
    c: &mut Checker,
    doc: &PolicyDocument,
    refs: &References<'_>,
    teams: &BTreeMap<String, Team>,
) -> BTreeMap<RepId, Rep> {
    let mut reps = BTreeMap::new();
    // Who already has each email and login: the identity provider's names must be unique.
    let mut names: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for (i, rep) in doc.reps.iter().enumerate() {
        let path = format!("reps[{i}]");
        let email = rep.email.as_deref().map(|e| e.trim().to_lowercase());
        if let Some(email) = &email
            && !is_email(email)
        {
            c.error(
                format!("{path}.email"),
                format!("`{email}` is not an email address"),
            );
        }
        let login = rep.login.as_deref().map(|l| l.trim().to_lowercase());
        if login.as_deref() == Some("") {
            c.error(format!("{path}.login"), "must not be empty");
        }
        for (field, value) in [("email", &email), ("login", &login)] {
            if let Some(value) = value
                && let Some(first) = names.insert((field, value.clone()), i)
            {
                c.error(
                    format!("{path}.{field}"),
                    format!("`{value}` is also reps[{first}]'s {field}: each must be unique"),
                );
            }
        }
        let team = rep
            .team
            .as_ref()
            .and_then(|t| refs.team(c, &format!("{path}.team"), t));
        let time_zone = team
            .as_ref()
            .and_then(|t| teams.get(t))
            .map_or(Tz::UTC, |t| t.time_zone);
        let role = c.choice(
            &format!("{path}.role"),
            &rep.role,
            Role::from_name,
            Role::NAMES,
        );
        let seniority = match &rep.seniority {
            Some(s) => c.choice(
                &format!("{path}.seniority"),
                s,
                Seniority::from_name,
                Seniority::NAMES,
            ),
            None => Some(Seniority::Standard),
        };
        let performance = match &rep.performance {
            Some(p) => c.choice(
                &format!("{path}.performance"),
                p,
                Performance::from_name,
                Performance::NAMES,
            ),
            None => Some(Performance::OnQuota),
        };
        if rep.weight == Some(0) {
            c.error(format!("{path}.weight"), "must be at least 1");
        }
        let absences = rep
            .unavailable
            .iter()
            .enumerate()
            .filter_map(|(a, absence)| {
                compile_absence(c, &format!("{path}.unavailable[{a}]"), absence, time_zone)
            })
            .collect();
        let limits = compile_limits(c, &format!("{path}.limits"), rep.limits.as_ref());
        let (Some(id), Some(role), Some(seniority), Some(performance)) = (
            RepId::parse(&rep.id, "id").ok(),
            role,
            seniority,
            performance,
        ) else {
            continue;
        };
        reps.insert(
            id.clone(),
            Rep {
                id,
                name: rep.name.clone().unwrap_or_else(|| rep.id.clone()),
                email,
                login,
                team,
                role,
                seniority,
                performance,
                regions: Checker::tags(&rep.regions),
                products: Checker::tags(&rep.products),
                industries: Checker::tags(&rep.industries),
                languages: Checker::tags(&rep.languages),
                active: rep.active.unwrap_or(true),
                weight: rep.weight.unwrap_or(default_weight(performance)).max(1),
                absences,
                limits,
                performance_set: rep.performance.is_some(),
                weight_set: rep.weight.is_some(),
                rating: None,
            },
        );
    }
    reps
}

/// A plausible email address: one `@` with text on both sides, a dot in the domain, no spaces.
fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn compile_absence(c: &mut Checker, path: &str, absence: &AbsenceDoc, tz: Tz) -> Option<Absence> {
    let from = instant(c, &format!("{path}.from"), &absence.from, tz, false);
    let to = instant(c, &format!("{path}.to"), &absence.to, tz, true);
    match (from, to) {
        (Some(from), Some(to)) if from < to => Some(Absence {
            from,
            to,
            reason: absence
                .reason
                .clone()
                .unwrap_or_else(|| "unavailable".to_owned()),
        }),
        (Some(_), Some(_)) => {
            c.error(path, "`from` must be before `to`");
            None
        }
        _ => None,
    }
}

/// An RFC 3339 time, or a date meaning the start (or, with `end_of_day`, the end) of that day
/// in `tz`.
fn instant(
    c: &mut Checker,
    path: &str,
    text: &str,
    tz: Tz,
    end_of_day: bool,
) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| {
        if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        }
    });
    let at = day
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map(|at| at.with_timezone(&Utc));
    if at.is_none() {
        c.error(
            path,
            format!("`{text}` is neither a date (2026-03-02) nor an RFC 3339 time"),
        );
    }
    at
}

fn compile_rotations(
    c: &mut Checker,
    doc: &PolicyDocument,
    refs: &References<'_>,
) -> Vec<Rotation> {
    let mut rotations = Vec::new();
    for (i, rotation) in doc.rotations.iter().enumerate() {
        let path = format!("rotations[{i}]");
        if rotation.shifts.is_empty() {
            c.error(format!("{path}.shifts"), "needs at least one shift");
        }
        let mut shifts = Vec::new();
        for (s, shift) in rotation.shifts.iter().enumerate() {
            if shift.is_empty() {
                c.error(format!("{path}.shifts[{s}]"), "needs at least one rep");
            }
            shifts.push(
                shift
                    .iter()
                    .enumerate()
                    .filter_map(|(r, rep)| refs.rep(c, &format!("{path}.shifts[{s}][{r}]"), rep))
                    .collect(),
            );
        }
        let shift_length = c.duration(&format!("{path}.shiftLength"), &rotation.shift_length);
        let start = DateTime::parse_from_rfc3339(&rotation.start)
            .map(|t| t.with_timezone(&Utc))
            .ok();
        if start.is_none() {
            c.error(
                format!("{path}.start"),
                format!(
                    "`{}` is not an RFC 3339 time such as 2026-01-05T18:00:00+01:00",
                    rotation.start
                ),
            );
        }
        if let (Some(shift_length), Some(start)) = (shift_length, start) {
            rotations.push(Rotation {
                id: rotation.id.clone(),
                shifts,
                shift_length,
                start,
            });
        }
    }
    rotations
}

fn compile_pools(
    c: &mut Checker,
    doc: &PolicyDocument,
    refs: &References<'_>,
    teams: &BTreeMap<String, Team>,
) -> Vec<Pool> {
    let mut pools = Vec::new();
    for (i, pool) in doc.pools.iter().enumerate() {
        let path = format!("pools[{i}]");
        let kind = c.choice(
            &format!("{path}.type"),
            &pool.kind,
            PoolKind::from_name,
            PoolKind::NAMES,
        );
        let tier = pool
            .tier
            .as_ref()
            .and_then(|t| c.choice(&format!("{path}.tier"), t, Tier::from_name, Tier::NAMES));
        if let Some(score) = pool.min_score {
            c.score(&format!("{path}.minScore"), score);
        }
        let contact_sla = match &pool.contact_sla {
            None => Some(DEFAULT_CONTACT_SLA),
            Some(text) => c
                .duration(&format!("{path}.contactSla"), text)
                .filter(|sla| {
                    let ok = *sla <= MAX_CONTACT_SLA && sla.num_seconds() >= 1;
                    if !ok {
                        c.error(
                            format!("{path}.contactSla"),
                            "must be between 1s and 30 days",
                        );
                    }
                    ok
                }),
        };
        let contact_warning = contact_sla.and_then(|sla| match &pool.contact_warning {
            None => Some(Duration::minutes(15).min(sla / 2)),
            Some(text) => c
                .duration(&format!("{path}.contactWarning"), text)
                .filter(|warning| {
                    let ok = *warning < sla;
                    if !ok {
                        c.error(
                            format!("{path}.contactWarning"),
                            "must be shorter than the contact SLA",
                        );
                    }
                    ok
                }),
        });
        let access = pool
            .access
            .iter()
            .enumerate()
            .map(|(a, rule)| compile_access_rule(c, &format!("{path}.access[{a}]"), rule, refs, a))
            .collect();
        let limits = compile_limits(c, &format!("{path}.limits"), pool.limits.as_ref());
        let ratio = pool.requires.as_ref().map(|ratio| {
            if ratio.claims == 0 {
                c.error(format!("{path}.requires.claims"), "must be at least 1");
            }
            if ratio.from.is_empty() {
                c.error(format!("{path}.requires.from"), "needs at least one pool");
            }
            let from = ratio
                .from
                .iter()
                .enumerate()
                .filter_map(|(f, p)| refs.pool(c, &format!("{path}.requires.from[{f}]"), p))
                .collect();
            let min_hold = ratio
                .min_hold
                .as_ref()
                .and_then(|hold| c.duration(&format!("{path}.requires.minHold"), hold))
                .unwrap_or(Ratio::DEFAULT_MIN_HOLD);
            Ratio {
                claims: ratio.claims,
                from,
                min_hold,
            }
        });
        let gates = pool
            .opens_when_empty
            .iter()
            .enumerate()
            .filter_map(|(g, p)| refs.pool(c, &format!("{path}.opensWhenEmpty[{g}]"), p))
            .collect();
        let rotation = pool.rotation.as_ref().and_then(|rotation| {
            if rotation.reps.is_empty() {
                c.error(format!("{path}.rotation.reps"), "needs at least one rep");
            }
            let reps = rotation
                .reps
                .iter()
                .enumerate()
                .filter_map(|(r, rep)| refs.rep(c, &format!("{path}.rotation.reps[{r}]"), rep))
                .collect();
            c.duration(&format!("{path}.rotation.window"), &rotation.window)
                .map(|window| RotationWindow {
                    window,
                    reps,
                    clock: PoolClock::Wall,
                })
        });
        let clocks = working_time::pool_clocks(c, &path, pool.working_time.as_ref(), doc, teams);
        let rotation = rotation.map(|rotation| RotationWindow {
            clock: clocks.rotation.clone(),
            ..rotation
        });
        if let (Ok(id), Some(kind), Some(contact_sla), Some(contact_warning)) = (
            PoolId::parse(&pool.id, "id"),
            kind,
            contact_sla,
            contact_warning,
        ) {
            pools.push(Pool {
                name: pool.name.clone().unwrap_or_else(|| pool.id.clone()),
                id,
                kind,
                tier,
                min_score: pool.min_score,
                contact_sla,
                contact_warning,
                access,
                limits,
                ratio,
                gates,
                rotation,
                blind: pool.blind.unwrap_or(false),
                schedule: schedule::compile_pool_schedule(c, &path, doc, pool, kind, tier, refs),
                clocks,
                skills: pool
                    .skills
                    .as_ref()
                    .map(|doc| skills::matching(c, &format!("{path}.skills"), doc)),
            });
        }
    }
    pools
}

fn compile_access_rule(
    c: &mut Checker,
    path: &str,
    rule: &AccessRuleDoc,
    refs: &References<'_>,
    index: usize,
) -> AccessRule {
    let performance = c.choices(
        &format!("{path}.performance"),
        &rule.performance,
        Performance::from_name,
        Performance::NAMES,
    );
    if performance.contains(&Performance::BelowQuota) {
        c.error(
            format!("{path}.performance"),
            "below-quota reps have no pool access (they receive auto-assigned leads); remove `below-quota`",
        );
    }
    AccessRule {
        name: rule
            .name
            .clone()
            .unwrap_or_else(|| format!("access[{index}]")),
        roles: c.choices(
            &format!("{path}.roles"),
            &rule.roles,
            Role::from_name,
            Role::NAMES,
        ),
        seniority: c.choices(
            &format!("{path}.seniority"),
            &rule.seniority,
            Seniority::from_name,
            Seniority::NAMES,
        ),
        performance,
        regions: Checker::tags(&rule.regions),
        teams: rule
            .teams
            .iter()
            .enumerate()
            .filter_map(|(t, team)| refs.team(c, &format!("{path}.teams[{t}]"), team))
            .collect(),
        reps: rule
            .reps
            .iter()
            .enumerate()
            .filter_map(|(r, rep)| refs.rep(c, &format!("{path}.reps[{r}]"), rep))
            .collect(),
        skills: rule
            .skills
            .as_ref()
            .map(|doc| skills::requirement(c, &format!("{path}.skills"), doc)),
    }
}

fn compile_qualification(c: &mut Checker, doc: &PolicyDocument) -> Qualification {
    let q = &doc.qualification;
    let min_score = q.min_score.unwrap_or(0);
    c.score("qualification.minScore", min_score);
    let required_fields = q
        .required_fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            c.choice(
                &format!("qualification.requiredFields[{i}]"),
                f,
                LeadField::from_name,
                LeadField::NAMES,
            )
        })
        .collect();
    let mut excluded_domains = BTreeSet::new();
    for (i, domain) in q.exclude.domains.iter().enumerate() {
        let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        if domain.contains('.') && !domain.contains(char::is_whitespace) {
            excluded_domains.insert(domain);
        } else {
            c.error(
                format!("qualification.exclude.domains[{i}]"),
                format!("`{domain}` is not a domain such as example.com"),
            );
        }
    }
    Qualification {
        min_score,
        required_fields,
        excluded_domains,
        excluded_countries: c.countries("qualification.exclude.countries", &q.exclude.countries),
        competitors: Checker::tags(&q.exclude.competitors),
    }
}

fn compile_duplicates(c: &mut Checker, doc: &PolicyDocument) -> Duplicates {
    let d = &doc.duplicates;
    let mut duplicates = Duplicates::default();
    if !d.match_on.is_empty() {
        duplicates.by_email = false;
        duplicates.by_company = false;
        for (i, key) in d.match_on.iter().enumerate() {
            match key.as_str() {
                "email" => duplicates.by_email = true,
                "company" => duplicates.by_company = true,
                other => c.error(
                    format!("duplicates.matchOn[{i}]"),
                    format!("`{other}` is not one of: email, company"),
                ),
            }
        }
    }
    if let Some(action) = &d.action
        && let Some(action) = c.choice(
            "duplicates.action",
            action,
            DuplicateAction::from_name,
            DuplicateAction::NAMES,
        )
    {
        duplicates.action = action;
    }
    duplicates
}

fn compile_routing(c: &mut Checker, doc: &PolicyDocument, refs: &References<'_>) -> Routing {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for (i, rule) in doc.routing.rules.iter().enumerate() {
        let path = format!("routing.rules[{i}]");
        if rule.name.trim().is_empty() {
            c.error(
                format!("{path}.name"),
                "is required: rules are named in explanations",
            );
        } else if let Some(first) = names.insert(&rule.name, i) {
            c.error(
                format!("{path}.name"),
                format!("`{}` is already used by routing.rules[{first}]", rule.name),
            );
        }
        let criteria = compile_criteria(c, &format!("{path}.match"), &rule.criteria);
        if let Some(target) = compile_rule_target(c, &path, rule, refs) {
            rules.push(Rule {
                name: rule.name.clone(),
                criteria,
                target,
            });
        }
    }
    let default = doc
        .routing
        .default
        .as_ref()
        .and_then(|target| compile_target(c, "routing.default", target, refs));
    Routing { rules, default }
}

fn compile_criteria(c: &mut Checker, path: &str, m: &MatchDoc) -> Criteria {
    if let Some(min) = m.min_score {
        c.score(&format!("{path}.minScore"), min);
    }
    if let Some(max) = m.max_score {
        c.score(&format!("{path}.maxScore"), max);
    }
    if let (Some(min), Some(max)) = (m.min_score, m.max_score)
        && min > max
    {
        c.error(
            path,
            format!("minScore {min} is above maxScore {max}: the rule can never match"),
        );
    }
    Criteria {
        regions: Checker::tags(&m.regions),
        countries: c.countries(&format!("{path}.countries"), &m.countries),
        products: Checker::tags(&m.products),
        industries: Checker::tags(&m.industries),
        sources: Checker::tags(&m.sources),
        languages: Checker::tags(&m.languages),
        min_score: m.min_score,
        max_score: m.max_score,
    }
}

fn compile_rule_target(
    c: &mut Checker,
    path: &str,
    rule: &RuleDoc,
    refs: &References<'_>,
) -> Option<RuleTarget> {
    let single = TargetDoc {
        pool: rule.pool.clone(),
        tiers: rule.tiers.clone(),
        assign: rule.assign.clone(),
    };
    let given = usize::from(single.pool.is_some())
        + usize::from(single.tiers.is_some())
        + usize::from(single.assign.is_some());
    match (&rule.split, given) {
        (None, _) => compile_target(c, path, &single, refs).map(RuleTarget::One),
        (Some(shares), 0) => {
            if shares.len() < 2 {
                c.error(format!("{path}.split"), "needs at least two shares");
            }
            let total: u32 = shares.iter().map(|s| s.percent).sum();
            if total != 100 {
                c.error(
                    format!("{path}.split"),
                    format!("shares sum to {total}%, not 100%"),
                );
            }
            let mut out = Vec::new();
            for (s, share) in shares.iter().enumerate() {
                let share_path = format!("{path}.split[{s}]");
                if !(1..=100).contains(&share.percent) {
                    c.error(
                        format!("{share_path}.percent"),
                        format!("{} is outside 1..=100", share.percent),
                    );
                }
                let target = TargetDoc {
                    pool: share.pool.clone(),
                    tiers: share.tiers.clone(),
                    assign: share.assign.clone(),
                };
                if let Some(target) = compile_target(c, &share_path, &target, refs) {
                    out.push((share.percent, target));
                }
            }
            Some(RuleTarget::Split(out))
        }
        (Some(_), _) => {
            c.error(
                path.to_owned(),
                "has `split` and another target; give exactly one of pool, tiers, assign, split",
            );
            None
        }
    }
}

fn compile_target(
    c: &mut Checker,
    path: &str,
    target: &TargetDoc,
    refs: &References<'_>,
) -> Option<Target> {
    match (&target.pool, &target.tiers, &target.assign) {
        (Some(pool), None, None) => refs
            .pool(c, &format!("{path}.pool"), pool)
            .map(Target::Pool),
        (None, Some(tiers), None) => {
            if tiers.is_empty() {
                c.error(format!("{path}.tiers"), "needs at least one pool");
            }
            let mut pools = Vec::new();
            for (t, pool) in tiers.iter().enumerate() {
                let tier_path = format!("{path}.tiers[{t}]");
                if let Some(id) = refs.pool(c, &tier_path, pool) {
                    if refs.pools_with_min_score.contains(pool.as_str()) {
                        pools.push(id);
                    } else {
                        c.error(
                            tier_path,
                            format!(
                                "pool `{pool}` has no minScore, so it cannot be chosen by score"
                            ),
                        );
                    }
                }
            }
            Some(Target::Tiers(pools))
        }
        (None, None, Some(assign)) => {
            compile_assign(c, &format!("{path}.assign"), assign, refs).map(Target::Assign)
        }
        _ => {
            c.error(
                path.to_owned(),
                "needs exactly one target: pool, tiers or assign",
            );
            None
        }
    }
}

pub(crate) fn compile_assign(
    c: &mut Checker,
    path: &str,
    assign: &AssignDoc,
    refs: &References<'_>,
) -> Option<Assign> {
    let strategy = c.choice(
        &format!("{path}.strategy"),
        &assign.strategy,
        Strategy::from_name,
        Strategy::NAMES,
    );
    let reps = assign
        .reps
        .iter()
        .enumerate()
        .filter_map(|(r, rep)| refs.rep(c, &format!("{path}.reps[{r}]"), rep))
        .collect();
    let teams = assign
        .teams
        .iter()
        .enumerate()
        .filter_map(|(t, team)| refs.team(c, &format!("{path}.teams[{t}]"), team))
        .collect();
    let fallback_pool = assign
        .fallback_pool
        .as_ref()
        .and_then(|pool| refs.pool(c, &format!("{path}.fallbackPool"), pool));
    let skills = assign
        .skills
        .as_ref()
        .map(|doc| skills::matching(c, &format!("{path}.skills"), doc));
    strategy.map(|strategy| Assign {
        strategy,
        reps,
        teams,
        fallback_pool,
        skills,
    })
}
