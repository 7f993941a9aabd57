//! Pool health (M1–M7) from the raw figures the store reads: rates, shares, the sizing
//! recommendation and the alerts. Pure functions of the figures and the policy's rules, so the
//! arithmetic is tested without a database.

use chrono::{DateTime, Duration, Utc};
use leadpool_policy::{HealthRules, Pool};
use leadpool_store::{ClaimTiming, Flow, Outcomes, PoolCounts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    Capacity,
    Depletion,
    Aging,
    Escalated,
    LowClaimRate,
    Quota,
    Backpressure,
    LowVolume,
    UnbalancedSegment,
}

impl AlertKind {
    pub fn id(self) -> &'static str {
        match self {
            Self::Capacity => "capacity",
            Self::Depletion => "depletion",
            Self::Aging => "aging",
            Self::Escalated => "escalated",
            Self::LowClaimRate => "low-claim-rate",
            Self::Quota => "quota",
            Self::Backpressure => "backpressure",
            Self::LowVolume => "low-volume",
            Self::UnbalancedSegment => "unbalanced-segment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `pools/{pool}/alerts/{kind}` or `reps/{rep}/alerts/quota`.
    pub name: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub summary: String,
}

/// Claims per hour ÷ new leads per hour over one window (the hours cancel); `None` when
/// nothing new arrived.
pub fn depletion_rate(flow: &Flow) -> Option<f64> {
    (flow.new_leads > 0).then(|| flow.claims as f64 / flow.new_leads as f64)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Velocity {
    pub claims: i64,
    pub mean: Option<Duration>,
    pub median: Option<Duration>,
    pub p90: Option<Duration>,
    pub target: Duration,
    pub within_target_percent: f64,
    /// Per local hour of day, 0 first.
    pub by_hour: Vec<SlotVelocity>,
    /// Per weekday, Monday first.
    pub by_weekday: Vec<SlotVelocity>,
    /// Per weekday × hour, Monday 00:00 first; `slot` is (weekday − 1) × 24 + hour.
    pub by_weekday_hour: Vec<SlotVelocity>,
}

impl Velocity {
    /// Whether the median time to claim is within the target; false without claims.
    pub fn meets_target(&self) -> bool {
        self.median.is_some_and(|m| m <= self.target)
    }
}

/// M3 rolled up: all claims of the pools of one type against the type's target.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeVelocity {
    /// "tiered/hot", "open", …
    pub kind: String,
    pub pools: Vec<leadpool_domain::PoolId>,
    pub velocity: Velocity,
}

/// M3 for the claims made in one hour of day or weekday.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotVelocity {
    /// Hour 0–23, or ISO weekday 1–7.
    pub slot: i32,
    pub claims: i64,
    pub median: Option<Duration>,
    pub p90: Option<Duration>,
    /// p90 within the target: nine in ten claims in the slot came in time.
    pub meets_target: bool,
}

fn seconds(value: f64) -> Duration {
    Duration::milliseconds((value * 1000.0).round() as i64)
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

/// The 90th percentile of sorted values, nearest rank.
fn p90(sorted: &[f64]) -> Option<f64> {
    let rank = (sorted.len() * 9).div_ceil(10);
    rank.checked_sub(1).map(|i| sorted[i])
}

fn slot(slot: i32, mut secs: Vec<f64>, target: Duration) -> SlotVelocity {
    secs.sort_by(f64::total_cmp);
    let p90 = p90(&secs).map(seconds);
    SlotVelocity {
        slot,
        claims: secs.len() as i64,
        median: median(&secs).map(seconds),
        p90,
        meets_target: p90.is_some_and(|p| p <= target),
    }
}

pub fn velocity(timings: &[ClaimTiming], target: Duration) -> Velocity {
    let mut secs: Vec<f64> = timings.iter().map(|t| t.seconds).collect();
    secs.sort_by(f64::total_cmp);
    let n = secs.len();
    let target_secs = target.num_milliseconds() as f64 / 1000.0;
    let within = secs.iter().filter(|s| **s <= target_secs).count();
    let in_slot = |matches: &dyn Fn(&ClaimTiming) -> bool| -> Vec<f64> {
        timings
            .iter()
            .filter(|t| matches(t))
            .map(|t| t.seconds)
            .collect()
    };
    Velocity {
        claims: n as i64,
        mean: (n > 0).then(|| seconds(secs.iter().sum::<f64>() / n as f64)),
        median: median(&secs).map(seconds),
        p90: p90(&secs).map(seconds),
        target,
        within_target_percent: percent(within as i64, n as i64),
        by_hour: (0..24)
            .map(|hour| slot(hour, in_slot(&|t| t.hour == hour), target))
            .collect(),
        by_weekday: (1..=7)
            .map(|day| slot(day, in_slot(&|t| t.weekday == day), target))
            .collect(),
        by_weekday_hour: {
            let mut cells: Vec<Vec<f64>> = vec![Vec::new(); 7 * 24];
            for t in timings {
                if let Some(cell) = usize::try_from((t.weekday - 1) * 24 + t.hour)
                    .ok()
                    .and_then(|i| cells.get_mut(i))
                {
                    cell.push(t.seconds);
                }
            }
            (0..)
                .zip(cells)
                .map(|(i, secs)| slot(i, secs, target))
                .collect()
        },
    }
}

/// `part` of `whole` in percent, rounded to 0.1; 0 when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ages {
    pub under_12h: i64,
    pub from_12h_to_24h: i64,
    pub over_24h: i64,
    pub under_12h_percent: f64,
    pub from_12h_to_24h_percent: f64,
    pub over_24h_percent: f64,
    /// M5: at least 60% under 12 hours and less than 10% over 24.
    pub healthy: bool,
}

pub fn ages(counts: &PoolCounts) -> Ages {
    let total = counts.available;
    let under = percent(counts.under_12h, total);
    let over = percent(counts.over_24h, total);
    Ages {
        under_12h: counts.under_12h,
        from_12h_to_24h: counts.from_12h_to_24h,
        over_24h: counts.over_24h,
        under_12h_percent: under,
        from_12h_to_24h_percent: percent(counts.from_12h_to_24h, total),
        over_24h_percent: over,
        healthy: total == 0 || (under >= 60.0 && over < 10.0),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    pub daily_claim_capacity: f64,
    pub healthy_min: i64,
    pub healthy_max: i64,
    /// Under one day of claims: "below".
    pub below_under: i64,
    pub recommendation: &'static str,
    pub average_depth_7d: Option<f64>,
}

/// M6: a healthy pool holds two to three days of claims (10 reps × 10 a day: 200–300);
/// consistently above is "above", under one day's claims (under 100) "below", and between one
/// and two days "lean". Judged on the mean depth of the week's snapshots where there are any
/// ("consistently"), else on the depth now.
pub fn sizing(claims_last_7_days: i64, depth: i64, average_depth_7d: Option<f64>) -> Sizing {
    let capacity = claims_last_7_days as f64 / 7.0;
    let healthy_min = (capacity * 2.0).round() as i64;
    let healthy_max = (capacity * 3.0).round() as i64;
    let below_under = capacity.round() as i64;
    let judged = average_depth_7d.unwrap_or(depth as f64);
    let recommendation = if claims_last_7_days == 0 {
        "no claims in 7 days: nothing to size against"
    } else if judged > healthy_max as f64 {
        "above: add reps or qualify stricter"
    } else if judged < below_under as f64 {
        "below: overstaffed or under-qualifying"
    } else if judged < healthy_min as f64 {
        "lean: under two days of claims"
    } else {
        "ok"
    };
    Sizing {
        daily_claim_capacity: (capacity * 10.0).round() / 10.0,
        healthy_min,
        healthy_max,
        below_under,
        recommendation,
        average_depth_7d,
    }
}

/// X6: when the pool will be empty (or critical), at the trailing rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub depth: i64,
    pub claims_per_hour: f64,
    pub new_leads_per_hour: f64,
    /// The trailing window the rates come from.
    pub window: Duration,
    /// `None`: the pool does not drain.
    pub empty_at: Option<DateTime<Utc>>,
    /// Growing towards its critical depth: when it gets there.
    pub critical_at: Option<DateTime<Utc>>,
    pub summary: String,
}

/// A straight line from the depth now at the claim and inflow rates of `trailing`.
pub fn forecast(depth: i64, critical: i64, trailing: &Flow, as_of: DateTime<Utc>) -> Forecast {
    let window = trailing.end - trailing.start;
    let hours = (window.num_seconds() as f64 / 3600.0).max(1.0);
    let claims = trailing.claims as f64 / hours;
    let inflow = trailing.new_leads as f64 / hours;
    let drain = claims - inflow;
    let after = |hours: f64| Duration::seconds((hours * 3600.0).round() as i64);
    let rates = format!("claims {claims:.1}/h, new {inflow:.1}/h");
    let (empty_at, critical_at, summary) = if depth == 0 {
        (Some(as_of), None, format!("empty now ({rates})"))
    } else if drain > 0.0 {
        let left = after(depth as f64 / drain);
        (
            Some(as_of + left),
            None,
            format!("empty in {} ({rates})", about(left)),
        )
    } else if drain < 0.0 && depth < critical {
        let left = after((critical - depth) as f64 / -drain);
        (
            None,
            Some(as_of + left),
            format!(
                "never empty: grows {:.1}/h; critical ({critical}) in {} ({rates})",
                -drain,
                about(left)
            ),
        )
    } else {
        (None, None, format!("never empty ({rates})"))
    };
    Forecast {
        depth,
        claims_per_hour: claims,
        new_leads_per_hour: inflow,
        window,
        empty_at,
        critical_at,
        summary,
    }
}

/// A forecast's horizon, rounded the way a person would say it: `40m`, `5h`, `3d`.
fn about(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes < 60 {
        format!("{minutes}m")
    } else if minutes < 48 * 60 {
        format!("{}h", (minutes + 30) / 60)
    } else {
        format!("{}d", (minutes + 12 * 60) / (24 * 60))
    }
}

pub fn level(depth: i64, pool: &Pool) -> Level {
    let health = &pool.schedule.health;
    if depth >= i64::from(health.critical) {
        Level::Critical
    } else if depth >= i64::from(health.warning) {
        Level::Warning
    } else {
        Level::Ok
    }
}

/// Everything computed about one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub as_of: DateTime<Utc>,
    pub counts: PoolCounts,
    pub level: Level,
    /// The last 24 hours.
    pub depletion: Flow,
    /// Whole days back from `as_of`, newest first.
    pub depletion_by_day: Vec<Flow>,
    pub velocity: Velocity,
    pub outcomes: Outcomes,
    pub ages: Ages,
    pub sizing: Sizing,
    pub paused_sources: Vec<String>,
    pub new_last_7_days: i64,
    /// Segmented pools: the share of all segmented pools' new leads, and how many there are.
    pub segment_share: Option<SegmentShare>,
    pub forecast: Forecast,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentShare {
    pub percent: f64,
    pub segments: usize,
}

/// Each segmented pool's share of the new leads of all segmented pools (7 days), by pool id;
/// empty when they received none.
pub fn segment_shares(
    policy: &leadpool_policy::Policy,
    arrivals: &std::collections::HashMap<String, i64>,
) -> std::collections::HashMap<String, SegmentShare> {
    let segmented: Vec<&str> = policy
        .pools
        .iter()
        .filter(|p| p.kind == leadpool_policy::PoolKind::Segmented)
        .map(|p| p.id.as_str())
        .collect();
    let total: i64 = segmented.iter().filter_map(|id| arrivals.get(*id)).sum();
    if total == 0 {
        return std::collections::HashMap::new();
    }
    segmented
        .iter()
        .map(|id| {
            let share = SegmentShare {
                percent: percent(arrivals.get(*id).copied().unwrap_or(0), total),
                segments: segmented.len(),
            };
            ((*id).to_owned(), share)
        })
        .collect()
}

/// The figures a [`Health`] is computed from.
pub struct Figures {
    pub counts: PoolCounts,
    pub by_day: Vec<Flow>,
    pub week: Flow,
    pub timings: Vec<ClaimTiming>,
    pub outcomes: Outcomes,
    pub paused_sources: Vec<String>,
    pub segment_share: Option<SegmentShare>,
    pub average_depth_7d: Option<f64>,
}

pub fn evaluate(pool: &Pool, rules: &HealthRules, as_of: DateTime<Utc>, f: Figures) -> Health {
    let level = level(f.counts.available, pool);
    let ages = ages(&f.counts);
    let velocity = velocity(&f.timings, pool.schedule.health.claim_target);
    let sizing = sizing(f.week.claims, f.counts.available, f.average_depth_7d);
    let forecast = forecast(
        f.counts.available,
        i64::from(pool.schedule.health.critical),
        &f.week,
        as_of,
    );
    let depletion = f.by_day.first().cloned().unwrap_or(Flow {
        start: as_of - Duration::hours(24),
        end: as_of,
        claims: 0,
        new_leads: 0,
    });
    let mut health = Health {
        as_of,
        level,
        depletion,
        depletion_by_day: f.by_day,
        velocity,
        outcomes: f.outcomes,
        ages,
        sizing,
        paused_sources: f.paused_sources,
        new_last_7_days: f.week.new_leads,
        segment_share: f.segment_share,
        forecast,
        alerts: Vec::new(),
        counts: f.counts,
    };
    health.alerts = alerts(pool, rules, &health);
    health
}

/// M7: what a manager should hear about this pool now.
pub fn alerts(pool: &Pool, rules: &HealthRules, h: &Health) -> Vec<Alert> {
    let id = pool.id.name();
    let mut out = Vec::new();
    let mut alert = |kind: AlertKind, severity, summary: String| {
        out.push(Alert {
            name: format!("{id}/alerts/{}", kind.id()),
            kind,
            severity,
            summary,
        });
    };
    let t = &pool.schedule.health;
    match h.level {
        Level::Critical => alert(
            AlertKind::Capacity,
            Severity::Critical,
            format!(
                "{} leads waiting, critical at {}",
                h.counts.available, t.critical
            ),
        ),
        Level::Warning => alert(
            AlertKind::Capacity,
            Severity::Warning,
            format!(
                "{} leads waiting, warning at {}",
                h.counts.available, t.warning
            ),
        ),
        Level::Ok => {}
    }
    let days = usize::try_from(rules.depletion_alert_days).unwrap_or(usize::MAX);
    let below: Vec<f64> = h
        .depletion_by_day
        .iter()
        .take(days)
        .filter_map(depletion_rate)
        .filter(|rate| *rate < rules.depletion_alert_below)
        .collect();
    if below.len() >= days && days > 0 {
        alert(
            AlertKind::Depletion,
            Severity::Warning,
            format!(
                "the pool is growing: claims ÷ new leads below {} for {days} days ({})",
                rules.depletion_alert_below,
                below
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if h.ages.over_24h_percent > f64::from(rules.aged_alert_percent) {
        alert(
            AlertKind::Aging,
            Severity::Warning,
            format!(
                "{}% of the pool is older than 24h (alert above {}%)",
                h.ages.over_24h_percent, rules.aged_alert_percent
            ),
        );
    }
    if h.counts.escalated > 0 {
        alert(
            AlertKind::Escalated,
            Severity::Warning,
            format!(
                "{} leads escalated to a manager for assignment",
                h.counts.escalated
            ),
        );
    }
    if let Some(median) = h.velocity.median
        && median > h.velocity.target
    {
        alert(
            AlertKind::LowClaimRate,
            Severity::Warning,
            format!(
                "claims are slow: median {} from entry to claim, target {}",
                crate::history::span(median),
                crate::history::span(h.velocity.target)
            ),
        );
    } else if h.depletion.claims == 0 && h.counts.available > 0 && h.counts.over_24h > 0 {
        alert(
            AlertKind::LowClaimRate,
            Severity::Warning,
            "stagnant: no claims in 24h while leads wait".to_owned(),
        );
    }
    if !h.paused_sources.is_empty() {
        alert(
            AlertKind::Backpressure,
            Severity::Info,
            format!("holding back sources: {}", h.paused_sources.join(", ")),
        );
    }
    if h.new_last_7_days < i64::from(rules.low_volume_per_week) {
        alert(
            AlertKind::LowVolume,
            Severity::Info,
            format!(
                "{} new leads in 7 days (below {}): a candidate to merge",
                h.new_last_7_days, rules.low_volume_per_week
            ),
        );
    }
    if let Some(share) = h.segment_share
        && share.segments >= 2
    {
        let fair = 100.0 / share.segments as f64;
        let factor = rules.unbalanced_segment_factor;
        if share.percent > fair * factor || share.percent < fair / factor {
            alert(
                AlertKind::UnbalancedSegment,
                Severity::Info,
                format!(
                    "{}% of the segmented pools' new leads in 7 days (a fair share is {:.1}%): rebalance the segments",
                    share.percent, fair
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(seconds: f64, hour: i32, weekday: i32) -> ClaimTiming {
        ClaimTiming {
            seconds,
            hour,
            weekday,
        }
    }

    #[test]
    fn velocity_mean_median_and_coverage() {
        let v = velocity(
            &[
                timing(600.0, 9, 1),
                timing(1200.0, 9, 1),
                timing(3600.0, 14, 3),
                timing(7200.0, 23, 7),
            ],
            Duration::minutes(30),
        );
        assert_eq!(v.claims, 4);
        assert_eq!(v.mean, Some(Duration::seconds(3150)));
        assert_eq!(v.median, Some(Duration::seconds(2400)));
        assert_eq!(
            v.p90,
            Some(Duration::seconds(7200)),
            "nearest rank: the 4th of 4"
        );
        assert!((v.within_target_percent - 50.0).abs() < 1e-9);
        let claims = |slots: &[SlotVelocity]| slots.iter().map(|s| s.claims).collect::<Vec<_>>();
        assert_eq!(claims(&v.by_weekday), [2, 0, 1, 0, 0, 0, 1]);
        // The heat map: Monday 09:00, Wednesday 14:00, Sunday 23:00 (the last cell).
        assert_eq!(v.by_weekday_hour.len(), 168);
        let cells: Vec<(i32, i64)> = v
            .by_weekday_hour
            .iter()
            .filter(|s| s.claims > 0)
            .map(|s| (s.slot, s.claims))
            .collect();
        assert_eq!(cells, [(9, 2), (2 * 24 + 14, 1), (167, 1)]);
        assert_eq!(v.by_weekday_hour[9].median, Some(Duration::seconds(900)));
        let nine = &v.by_hour[9];
        assert_eq!(
            (
                nine.slot,
                nine.claims,
                nine.median,
                nine.p90,
                nine.meets_target
            ),
            (
                9,
                2,
                Some(Duration::seconds(900)),
                Some(Duration::seconds(1200)),
                true
            )
        );
        let late = &v.by_hour[23];
        assert_eq!(
            (late.p90, late.meets_target),
            (Some(Duration::seconds(7200)), false)
        );
        assert_eq!(
            (
                v.by_hour[3].claims,
                v.by_hour[3].median,
                v.by_hour[3].meets_target
            ),
            (0, None, false)
        );
    }

    #[test]
    fn sizing_is_two_to_three_days_of_claims() {
        // 10 reps × 10 a day for a week.
        let s = sizing(700, 250, None);
        assert_eq!(
            (s.healthy_min, s.healthy_max, s.recommendation),
            (200, 300, "ok")
        );
        // A spike now is not "consistently above" when the week's mean is healthy.
        assert_eq!(sizing(700, 400, Some(260.0)).recommendation, "ok");
        assert_eq!(
            sizing(700, 250, Some(320.0)).recommendation,
            "above: add reps or qualify stricter"
        );
        assert_eq!(
            sizing(700, 301, None).recommendation,
            "above: add reps or qualify stricter"
        );
        assert_eq!(
            sizing(700, 99, None).recommendation,
            "below: overstaffed or under-qualifying",
            "under 100 for a 100-a-day team"
        );
        assert_eq!(sizing(700, 99, None).below_under, 100);
        assert_eq!(
            sizing(700, 100, None).recommendation,
            "lean: under two days of claims",
            "100 to 200 is lean, not below"
        );
        assert_eq!(
            sizing(700, 199, None).recommendation,
            "lean: under two days of claims"
        );
    }

    #[test]
    fn age_mix_is_healthy_only_when_fresh_dominates() {
        let healthy = ages(&PoolCounts {
            available: 10,
            under_12h: 6,
            from_12h_to_24h: 3,
            over_24h: 1,
            ..PoolCounts::default()
        });
        assert!(!healthy.healthy, "10% over 24h is not below 10%");
        let fine = ages(&PoolCounts {
            available: 20,
            under_12h: 13,
            from_12h_to_24h: 6,
            over_24h: 1,
            ..PoolCounts::default()
        });
        assert!(fine.healthy);
        assert!((fine.over_24h_percent - 5.0).abs() < 1e-9);
    }

    #[test]
    fn segment_shares_compare_segmented_pools_only() {
        let policy = leadpool_policy::load(
            "apiVersion: leadpool.dev/v1\nkind: Policy\npools:\n  - { id: west, type: segmented }\n  - { id: east, type: segmented }\n  - { id: emea, type: segmented }\n  - { id: all, type: open }\n",
        )
        .unwrap();
        let arrivals = [("west", 90), ("east", 6), ("emea", 4), ("all", 1000)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let shares = segment_shares(&policy, &arrivals);
        assert_eq!(shares.len(), 3, "the open pool is not a segment");
        assert!((shares["west"].percent - 90.0).abs() < 1e-9);
        assert!((shares["emea"].percent - 4.0).abs() < 1e-9);
        assert!(segment_shares(&policy, &std::collections::HashMap::new()).is_empty());
    }

    #[test]
    fn a_draining_pool_empties_and_a_growing_one_reaches_critical() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let week = |claims, new_leads| Flow {
            start: at - Duration::days(7),
            end: at,
            claims,
            new_leads,
        };
        // 168 h: 3 claims and 1 new an hour → drains 2/h: 10 leads last 5 h.
        let draining = forecast(10, 100, &week(504, 168), at);
        assert_eq!(draining.empty_at, Some(at + Duration::hours(5)));
        assert_eq!(draining.summary, "empty in 5h (claims 3.0/h, new 1.0/h)");
        // Grows 2/h: from 60 to critical 100 in 20 h; never empty.
        let growing = forecast(60, 100, &week(168, 504), at);
        assert_eq!(
            (growing.empty_at, growing.critical_at),
            (None, Some(at + Duration::hours(20)))
        );
        assert_eq!(
            growing.summary,
            "never empty: grows 2.0/h; critical (100) in 20h (claims 1.0/h, new 3.0/h)"
        );
        // Keeping pace, or already critical: never, and no critical time.
        let steady = forecast(60, 100, &week(168, 168), at);
        assert_eq!((steady.empty_at, steady.critical_at), (None, None));
        assert_eq!(steady.summary, "never empty (claims 1.0/h, new 1.0/h)");
        assert_eq!(forecast(120, 100, &week(0, 168), at).critical_at, None);
        assert_eq!(forecast(0, 100, &week(0, 0), at).empty_at, Some(at));
    }

    #[test]
    fn depletion_is_claims_over_new() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let flow = |claims, new_leads| Flow {
            start: at,
            end: at,
            claims,
            new_leads,
        };
        assert_eq!(depletion_rate(&flow(12, 16)), Some(0.75));
        assert_eq!(depletion_rate(&flow(3, 0)), None);
    }
}
