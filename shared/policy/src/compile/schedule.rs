//! Compiling the scheduler's sections of the document (releases, aging, refresh, health) into
//! the schedules of `model::schedule`, with every problem reported at its path.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;

use super::lifecycle::{Lifecycle, compile_lifecycle};
use super::{Checker, References, clock_time, compile_assign};
use crate::document::{AgingDoc, PolicyDocument, PoolDoc, RefreshDoc};
use crate::model::schedule::{DEFAULT_CRITICAL, DEFAULT_WARNING, every_from_midnight};
use crate::model::{
    Aging, HealthRules, PoolHealth, PoolKind, PoolMove, PoolSchedule, Refresh, ReleaseSchedule,
    Tier,
};

/// The word that switches an aging or refresh step off.
const NEVER: &str = "never";

/// The weekdays named in `days` (`mon` … `sun`), or `default` when none are.
pub(crate) fn weekdays(
    c: &mut Checker,
    path: &str,
    days: &[String],
    default: [bool; 7],
) -> [bool; 7] {
    if days.is_empty() {
        return default;
    }
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut out = [false; 7];
    for (d, day) in days.iter().enumerate() {
        match names.iter().position(|n| n.eq_ignore_ascii_case(day)) {
            Some(index) => out[index] = true,
            None => c.error(
                format!("{path}[{d}]"),
                format!("`{day}` is not one of: {}", names.join(", ")),
            ),
        }
    }
    out
}

/// A duration, `never` (→ `None`), or the default when unset.
fn step(
    c: &mut Checker,
    path: &str,
    text: Option<&String>,
    default: Option<Duration>,
) -> Option<Duration> {
    match text.map(String::as_str) {
        None => default,
        Some(NEVER) => None,
        Some(text) => c.duration(path, text),
    }
}

pub(crate) fn compile_health(
    c: &mut Checker,
    doc: &PolicyDocument,
    refs: &References<'_>,
) -> HealthRules {
    // The policy-wide aging keys or lifecycle, checked once here rather than once per pool.
    compile_aging(c, "", doc.aging.as_ref(), None, refs);
    if let Some(steps) = &doc.lifecycle {
        if doc.aging.is_some() {
            c.error("lifecycle", "use either `lifecycle` or `aging`, not both");
        }
        compile_lifecycle(c, "lifecycle", steps, None, refs);
    }
    let defaults = HealthRules::default();
    let Some(h) = doc.health.as_ref() else {
        return defaults;
    };
    check_thresholds(c, "health", h.warning, h.critical);
    let depletion_alert_below = h
        .depletion_alert_below
        .unwrap_or(defaults.depletion_alert_below);
    if !(depletion_alert_below.is_finite() && depletion_alert_below > 0.0) {
        c.error(
            "health.depletionAlertBelow",
            "must be a number above 0, e.g. 0.8",
        );
    }
    let aged_alert_percent = h.aged_alert_percent.unwrap_or(defaults.aged_alert_percent);
    if aged_alert_percent > 100 {
        c.error(
            "health.agedAlertPercent",
            format!("{aged_alert_percent} is above 100"),
        );
    }
    let unbalanced_segment_factor = h
        .unbalanced_segment_factor
        .unwrap_or(defaults.unbalanced_segment_factor);
    if !(unbalanced_segment_factor.is_finite() && unbalanced_segment_factor > 1.0) {
        c.error(
            "health.unbalancedSegmentFactor",
            "must be a number above 1, e.g. 3",
        );
    }
    if h.depletion_alert_days == Some(0) {
        c.error("health.depletionAlertDays", "must be at least 1");
    }
    if h.min_claims_per_day == Some(0) {
        c.error(
            "health.minClaimsPerDay",
            "must be at least 1; leave it out for no quota",
        );
    }
    HealthRules {
        depletion_alert_below,
        depletion_alert_days: h
            .depletion_alert_days
            .unwrap_or(defaults.depletion_alert_days),
        aged_alert_percent,
        low_volume_per_week: h
            .low_volume_per_week
            .unwrap_or(defaults.low_volume_per_week),
        unbalanced_segment_factor,
        min_claims_per_day: h.min_claims_per_day,
    }
}

fn check_thresholds(c: &mut Checker, path: &str, warning: Option<u32>, critical: Option<u32>) {
    if warning == Some(0) {
        c.error(format!("{path}.warning"), "must be at least 1");
    }
    // Compared with the default for whichever is not set: `warning: 150` alone is an error too.
    let (effective_warning, effective_critical) = (
        warning.unwrap_or(DEFAULT_WARNING),
        critical.unwrap_or(DEFAULT_CRITICAL),
    );
    if (warning.is_some() || critical.is_some()) && effective_warning >= effective_critical {
        let key = if critical.is_some() {
            "critical"
        } else {
            "warning"
        };
        c.error(
            format!("{path}.{key}"),
            format!("critical ({effective_critical}) must be above warning ({effective_warning})"),
        );
    }
}

pub(crate) fn compile_pool_schedule(
    c: &mut Checker,
    path: &str,
    doc: &PolicyDocument,
    pool: &PoolDoc,
    kind: PoolKind,
    tier: Option<Tier>,
    refs: &References<'_>,
) -> PoolSchedule {
    let release = match (&pool.release, kind) {
        (Some(release), PoolKind::Timed) => Some(compile_release(
            c,
            &format!("{path}.release"),
            doc,
            release,
            refs,
        )),
        (Some(_), _) => {
            c.error(
                format!("{path}.release"),
                "only timed pools have a release schedule",
            );
            None
        }
        (None, PoolKind::Timed) => Some(ReleaseSchedule::hourly_utc()),
        (None, _) => None,
    };
    let Lifecycle { aging, refresh } = compile_pool_lifecycle(c, path, doc, pool, refs);
    let policy_health = doc.health.as_ref();
    let pool_health = pool.health.as_ref();
    let warning = pool_health
        .and_then(|h| h.warning)
        .or(policy_health.and_then(|h| h.warning));
    let critical = pool_health
        .and_then(|h| h.critical)
        .or(policy_health.and_then(|h| h.critical));
    // The policy-wide thresholds are checked once, in `compile_health`.
    if pool_health.is_some_and(|h| h.warning.is_some() || h.critical.is_some()) {
        check_thresholds(c, &format!("{path}.health"), warning, critical);
    }
    let claim_target = pool_health
        .and_then(|h| h.claim_target.as_ref())
        .and_then(|t| c.duration(&format!("{path}.health.claimTarget"), t))
        .unwrap_or_else(|| crate::model::type_claim_target(tier));
    PoolSchedule {
        release,
        aging,
        refresh,
        health: PoolHealth {
            warning: warning.unwrap_or(DEFAULT_WARNING),
            critical: critical.unwrap_or(DEFAULT_CRITICAL),
            claim_target,
            pause_sources: pool_health
                .map(|h| {
                    h.pause_sources
                        .iter()
                        .map(|s| s.trim().to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
        },
    }
}

fn compile_release(
    c: &mut Checker,
    path: &str,
    doc: &PolicyDocument,
    release: &crate::document::ReleaseDoc,
    refs: &References<'_>,
) -> ReleaseSchedule {
    let mut times: BTreeSet<NaiveTime> = release
        .at
        .iter()
        .enumerate()
        .filter_map(|(i, t)| clock_time(c, &format!("{path}.at[{i}]"), t))
        .collect();
    if let Some(every) = &release.every
        && let Some(every) = c.duration(&format!("{path}.every"), every)
    {
        if every < Duration::minutes(1) || every > Duration::hours(24) {
            c.error(format!("{path}.every"), "must be between 1m and 24h");
        } else {
            times.extend(every_from_midnight(every));
        }
    }
    if release.at.is_empty() && release.every.is_none() {
        c.error(
            path,
            "needs `at` (local times) or `every` (an interval), or both",
        );
    }
    let time_zone = match (&release.team, &release.time_zone) {
        (Some(_), Some(_)) => {
            c.error(path, "name either `team` or `timeZone`, not both");
            Tz::UTC
        }
        (Some(team), None) => refs
            .team(c, &format!("{path}.team"), team)
            .and_then(|id| doc.teams.iter().find(|t| t.id == id))
            .and_then(|t| t.time_zone.as_deref())
            .and_then(|name| name.parse().ok())
            .unwrap_or(Tz::UTC),
        (None, Some(name)) => name.parse().unwrap_or_else(|_| {
            c.error(
                format!("{path}.timeZone"),
                format!("`{name}` is not an IANA time zone such as Europe/Berlin"),
            );
            Tz::UTC
        }),
        (None, None) => Tz::UTC,
    };
    if let Some(score) = release.flash_min_score {
        c.score(&format!("{path}.flashMinScore"), score);
    }
    ReleaseSchedule {
        times: times.into_iter().collect(),
        days: weekdays(c, &format!("{path}.days"), &release.days, [true; 7]),
        time_zone,
        flash_min_score: release.flash_min_score,
    }
}

/// The pool's `lifecycle`, else the policy's, else the older `aging` and `refresh` keys (the
/// policy's `lifecycle` is checked once, in `compile_health`).
fn compile_pool_lifecycle(
    c: &mut Checker,
    path: &str,
    doc: &PolicyDocument,
    pool: &PoolDoc,
    refs: &References<'_>,
) -> Lifecycle {
    let older_keys = pool.aging.is_some() || pool.refresh.is_some();
    match (&pool.lifecycle, &doc.lifecycle) {
        (Some(steps), _) => {
            if older_keys {
                c.error(
                    format!("{path}.lifecycle"),
                    "use either `lifecycle` or `aging`/`refresh`, not both",
                );
            }
            compile_lifecycle(c, &format!("{path}.lifecycle"), steps, Some(&pool.id), refs)
        }
        (None, Some(steps)) => {
            if older_keys {
                c.error(
                    path,
                    "the policy sets `lifecycle`: give this pool a `lifecycle` of its own \
                     instead of `aging`/`refresh`",
                );
            }
            let mut inherited = Checker::scratch();
            compile_lifecycle(&mut inherited, "lifecycle", steps, Some(&pool.id), refs)
        }
        (None, None) => {
            // A pool without keys of its own takes the policy's, which `compile_health` checks.
            let own = pool.aging.clone().unwrap_or_default();
            Lifecycle {
                aging: compile_aging(c, path, doc.aging.as_ref(), Some(&own), refs),
                refresh: pool
                    .refresh
                    .as_ref()
                    .map(|r| compile_refresh(c, &format!("{path}.refresh"), r, &pool.id, refs)),
            }
        }
    }
}

/// The older `refresh` keys: a priority pool (`moveAfter` default 24h), nurture (72h) and
/// archive (7d).
fn compile_refresh(
    c: &mut Checker,
    path: &str,
    r: &RefreshDoc,
    own_pool: &str,
    refs: &References<'_>,
) -> Refresh {
    let to = r
        .priority_pool
        .as_ref()
        .and_then(|p| refs.pool(c, &format!("{path}.priorityPool"), p));
    if to.as_ref().is_some_and(|p| p.as_str() == own_pool) {
        c.error(format!("{path}.priorityPool"), "must be another pool");
    }
    let after = step(
        c,
        &format!("{path}.moveAfter"),
        r.move_after.as_ref(),
        Some(Duration::hours(24)),
    );
    Refresh {
        move_to: to.zip(after).map(|(to, after)| PoolMove { to, after }),
        nurture_after: step(
            c,
            &format!("{path}.nurtureAfter"),
            r.nurture_after.as_ref(),
            Some(Duration::hours(72)),
        ),
        archive_after: step(
            c,
            &format!("{path}.archiveAfter"),
            r.archive_after.as_ref(),
            Some(Duration::days(7)),
        ),
    }
}

/// The pool's aging keys, else the policy's, else the defaults; each step no earlier than the
/// one before it. The policy's own keys are checked once (`pool` = `None`); for a pool, only
/// what the pool itself sets is reported.
fn compile_aging(
    c: &mut Checker,
    path: &str,
    policy: Option<&AgingDoc>,
    pool: Option<&AgingDoc>,
    refs: &References<'_>,
) -> Aging {
    let defaults = Aging::default();
    let mut inherited = Checker::scratch();
    let mut resolve =
        |key: &str, get: fn(&AgingDoc) -> Option<&String>, default| match pool.and_then(get) {
            Some(value) => {
                let at = format!("{path}.aging.{key}");
                let step = step(c, &at, Some(value), default);
                (Some(at), step)
            }
            None => {
                let at = format!("aging.{key}");
                let checker = if pool.is_none() {
                    &mut *c
                } else {
                    &mut inherited
                };
                let step = step(checker, &at, policy.and_then(get), default);
                (pool.is_none().then_some(at), step)
            }
        };
    let steps = [
        resolve(
            "topHalfAfter",
            |a| a.top_half_after.as_ref(),
            defaults.top_half_after,
        ),
        resolve(
            "topTenthAfter",
            |a| a.top_tenth_after.as_ref(),
            defaults.top_tenth_after,
        ),
        resolve(
            "escalateAfter",
            |a| a.escalate_after.as_ref(),
            defaults.escalate_after,
        ),
        resolve(
            "assignAfter",
            |a| a.assign_after.as_ref(),
            defaults.assign_after,
        ),
    ];
    for (i, (reported_at, later)) in steps.iter().enumerate() {
        if let Some(at) = reported_at
            && let Some(earlier) = steps[..i].iter().filter_map(|(_, d)| *d).max()
            && later.is_some_and(|later| later < earlier)
        {
            c.error(
                at.clone(),
                "must not be earlier than the aging steps before it",
            );
        }
    }
    let assign = match (
        pool.and_then(|a| a.assign.as_ref()),
        policy.and_then(|a| a.assign.as_ref()),
    ) {
        (Some(assign), _) => compile_assign(c, &format!("{path}.aging.assign"), assign, refs),
        (None, Some(assign)) if pool.is_none() => compile_assign(c, "aging.assign", assign, refs),
        (None, Some(assign)) => compile_assign(&mut inherited, "aging.assign", assign, refs),
        (None, None) => None,
    };
    Aging {
        top_half_after: steps[0].1,
        top_tenth_after: steps[1].1,
        escalate_after: steps[2].1,
        assign_after: steps[3].1,
        assign,
        // The older `aging` key has no overflow; a `lifecycle` sets it.
        ..Aging::OFF
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn berlin_daily_0800() -> ReleaseSchedule {
        ReleaseSchedule {
            times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
            days: [true; 7],
            time_zone: chrono_tz::Europe::Berlin,
            flash_min_score: None,
        }
    }

    #[test]
    fn a_daily_local_release_stays_at_0800_across_the_spring_change() {
        let s = berlin_daily_0800();
        // Saturday before the change: 08:00 CET is 07:00 UTC.
        assert_eq!(
            s.next_after(at("2026-03-28T00:00:00Z")),
            Some(at("2026-03-28T07:00:00Z"))
        );
        // Sunday 29 March, after 02:00 → 03:00: 08:00 CEST is 06:00 UTC.
        assert_eq!(
            s.next_after(at("2026-03-28T07:00:00Z")),
            Some(at("2026-03-29T06:00:00Z"))
        );
        assert_eq!(
            s.latest_at_or_before(at("2026-03-29T05:59:59Z")),
            Some(at("2026-03-28T07:00:00Z"))
        );
        assert_eq!(
            s.latest_at_or_before(at("2026-03-29T06:00:00Z")),
            Some(at("2026-03-29T06:00:00Z"))
        );
    }

    #[test]
    fn a_daily_local_release_stays_at_0800_across_the_autumn_change() {
        let s = berlin_daily_0800();
        assert_eq!(
            s.next_after(at("2026-10-24T12:00:00Z")),
            Some(at("2026-10-25T07:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-10-24T05:00:00Z")),
            Some(at("2026-10-24T06:00:00Z"))
        );
    }

    #[test]
    fn times_in_the_skipped_hour_run_an_hour_later_and_the_repeated_hour_runs_once() {
        let s = ReleaseSchedule {
            times: vec![NaiveTime::from_hms_opt(2, 30, 0).unwrap()],
            ..berlin_daily_0800()
        };
        // 02:30 does not exist on 29 March; it runs at 03:30 CEST = 01:30 UTC.
        assert_eq!(
            s.next_after(at("2026-03-29T00:00:00Z")),
            Some(at("2026-03-29T01:30:00Z"))
        );
        // 02:30 happens twice on 25 October; it runs the first time (CEST, 00:30 UTC) only.
        assert_eq!(
            s.next_after(at("2026-10-25T00:00:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-10-25T00:30:00Z")),
            Some(at("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn hourly_and_two_hourly_drops_and_release_days() {
        let hourly = ReleaseSchedule::hourly_utc();
        assert_eq!(hourly.times.len(), 24);
        assert_eq!(
            hourly.latest_at_or_before(at("2026-03-02T09:59:59Z")),
            Some(at("2026-03-02T09:00:00Z"))
        );
        let weekdays_only = ReleaseSchedule {
            times: every_from_midnight(Duration::hours(2)),
            days: [true, true, true, true, true, false, false],
            time_zone: Tz::UTC,
            flash_min_score: None,
        };
        assert_eq!(weekdays_only.times.len(), 12);
        // Friday 6 March 23:00 → the next release is Monday 00:00.
        assert_eq!(
            weekdays_only.next_after(at("2026-03-06T23:00:00Z")),
            Some(at("2026-03-09T00:00:00Z"))
        );
        assert_eq!(
            weekdays_only.latest_at_or_before(at("2026-03-08T12:00:00Z")),
            Some(at("2026-03-06T22:00:00Z"))
        );
    }

    #[test]
    fn schedule_problems_are_reported_with_their_paths() {
        let errors = crate::load(
            r"
apiVersion: leadpool.dev/v1
kind: Policy
teams: [{ id: emea, timeZone: Europe/Berlin }]
aging: { topHalfAfter: 24h, topTenthAfter: 12h }
health: { warning: 10, critical: 5, depletionAlertBelow: -1 }
pools:
  - id: drop
    type: timed
    release: { at: ['8am'], every: 30s, days: [mon, funday], team: apac, flashMinScore: 120 }
  - id: open
    type: open
    release: { every: 1h }
    refresh: { priorityPool: open, moveAfter: soon }
    aging: { assignAfter: 1h }
    health: { warning: 150 }
",
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "pools[0].release.at[0]",
                "pools[0].release.every",
                "pools[0].release.team",
                "pools[0].release.flashMinScore",
                "pools[0].release.days[1]",
                "pools[1].release",
                "pools[1].aging.assignAfter",
                "pools[1].refresh.priorityPool",
                "pools[1].refresh.moveAfter",
                "pools[1].health.critical",
                "aging.topTenthAfter",
                "health.critical",
                "health.depletionAlertBelow",
            ],
            "{errors:#?}"
        );
    }

    #[test]
    fn a_policy_schedule_compiles_with_defaults_and_overrides() {
        let policy = crate::load(
            r"
apiVersion: leadpool.dev/v1
kind: Policy
teams: [{ id: emea, timeZone: Europe/Berlin }]
aging: { escalateAfter: never }
health: { warning: 20, minClaimsPerDay: 3 }
pools:
  - id: drop
    type: timed
    release: { at: ['08:00'], every: 12h, team: emea, flashMinScore: 90 }
  - id: hot
    type: tiered
    tier: hot
    health: { critical: 40, pauseSources: [Content-Download] }
    aging: { assignAfter: 24h }
",
        )
        .unwrap();
        let drop = &policy.pools[0].schedule;
        let release = drop.release.as_ref().unwrap();
        assert_eq!(release.time_zone, chrono_tz::Europe::Berlin);
        let times: Vec<String> = release
            .times
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        assert_eq!(times, ["00:00", "08:00", "12:00"]);
        assert_eq!(release.flash_min_score, Some(90));
        assert_eq!(drop.aging.escalate_after, None, "policy-wide `never`");
        assert_eq!(
            drop.aging.assign_after,
            Some(Duration::hours(72)),
            "default"
        );
        assert_eq!((drop.health.warning, drop.health.critical), (20, 100));
        let hot = &policy.pools[1].schedule;
        assert!(hot.release.is_none());
        assert_eq!(hot.aging.assign_after, Some(Duration::hours(24)));
        assert_eq!(
            hot.health.claim_target,
            Duration::minutes(30),
            "hot tier target"
        );
        assert_eq!((hot.health.warning, hot.health.critical), (20, 40));
        assert!(hot.health.pause_sources.contains("content-download"));
        assert_eq!(policy.health.min_claims_per_day, Some(3));
    }

    #[test]
    fn changing_only_the_policy_wide_aging_or_health_is_a_change_to_apply() {
        let base = crate::parse("apiVersion: leadpool.dev/v1\nkind: Policy\n").unwrap();
        let aging = crate::parse(
            "apiVersion: leadpool.dev/v1\nkind: Policy\naging: { escalateAfter: never }\n",
        )
        .unwrap();
        let health = crate::parse(
            "apiVersion: leadpool.dev/v1\nkind: Policy\nhealth: { minClaimsPerDay: 3 }\n",
        )
        .unwrap();
        let paths = |new: &PolicyDocument| -> Vec<String> {
            crate::diff(Some(&base), new)
                .into_iter()
                .map(|c| c.path)
                .collect()
        };
        assert_eq!(paths(&aging), ["aging"]);
        assert_eq!(paths(&health), ["health"]);
    }
}
