//! The scheduler's rules (S1–S6, M1–M7) as compiled: when timed pools release, how unclaimed
//! leads age, the refresh cycle, health thresholds and claim quotas — and the calendar
//! arithmetic of release schedules, which must stay right across daylight-saving changes
//! (08:00 Europe/Berlin is 07:00 UTC in winter and 06:00 UTC in summer). Compiled from the
//! document by `compile::schedule`.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use leadpool_domain::PoolId;

use super::Assign;

/// Everything the scheduler does to one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSchedule {
    /// Timed pools only: when waiting leads are released.
    pub release: Option<ReleaseSchedule>,
    pub aging: Aging,
    pub refresh: Option<Refresh>,
    pub health: PoolHealth,
}

impl Default for PoolSchedule {
    fn default() -> Self {
        Self {
            release: None,
            aging: Aging::default(),
            refresh: None,
            health: PoolHealth {
                warning: DEFAULT_WARNING,
                critical: DEFAULT_CRITICAL,
                claim_target: Duration::hours(4),
                pause_sources: BTreeSet::new(),
            },
        }
    }
}

/// Release instants: every listed local time of day, on the listed weekdays, in `time_zone`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSchedule {
    /// Sorted, without repeats.
    pub times: Vec<NaiveTime>,
    /// Monday first.
    pub days: [bool; 7],
    pub time_zone: Tz,
    /// Leads scoring at least this skip the schedule (flash release).
    pub flash_min_score: Option<i32>,
}

/// How far the schedule arithmetic looks for a release day (a week, plus a day of slack for
/// time-zone offsets).
const SEARCH_DAYS: i64 = 8;

impl ReleaseSchedule {
    /// Every hour on the hour, UTC: the release of a timed pool that names no schedule.
    pub fn hourly_utc() -> Self {
        Self {
            times: every_from_midnight(Duration::hours(1)),
            days: [true; 7],
            time_zone: Tz::UTC,
            flash_min_score: None,
        }
    }

    /// The instant a local release time falls on. A time in the hour the clocks skip runs when
    /// the clock would have shown it without the jump (02:30 → 03:30 new time); a time in the
    /// hour that repeats runs once, the first time round.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let local = date.and_time(time);
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.to_utc()),
            LocalResult::None => self
                .time_zone
                .from_local_datetime(&(local - Duration::hours(1)))
                .earliest()
                .map(|at| at.to_utc() + Duration::hours(1)),
        }
    }

    fn instants_on(&self, date: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let release_day = self.days[date.weekday().num_days_from_monday() as usize];
        self.times
            .iter()
            .filter(move |_| release_day)
            .filter_map(move |time| self.instant(date, *time))
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// The latest release at or before `now`.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = self.local_date(now);
        (-1..=SEARCH_DAYS)
            .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
            .flat_map(|date| self.instants_on(date))
            .filter(|at| *at <= now)
            .max()
    }

    /// The first release after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = self.local_date(now);
        (-1..=SEARCH_DAYS)
            .filter_map(|ahead| today.checked_add_signed(Duration::days(ahead)))
            .flat_map(|date| self.instants_on(date))
            .filter(|at| *at > now)
            .min()
    }
}

/// Local times from midnight every `every`, up to the end of the day.
pub(crate) fn every_from_midnight(every: Duration) -> Vec<NaiveTime> {
    let step = every.num_seconds().max(60);
    (0..86_400 / step)
        .filter_map(|i| {
            let seconds = u32::try_from(i * step).ok()?;
            NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
        })
        .collect()
}

/// S3/S4. Ages count from when the lead entered its pool; `None` switches a step off.
/// [`Aging::OFF`] is the starting point of a `lifecycle`, where unlisted steps are off.
#[derive(Debug, Clone, PartialEq)]
pub struct Aging {
    pub top_half_after: Option<Duration>,
    pub top_tenth_after: Option<Duration>,
    pub escalate_after: Option<Duration>,
    pub assign_after: Option<Duration>,
    /// Who forced assignments go to; `None`: reps (not managers) with access to the pool.
    pub assign: Option<Assign>,
    /// P3 overflow: pushed, rejectable, to reps of `overflow_to` seniority after this age.
    pub overflow_after: Option<Duration>,
    pub overflow_to: BTreeSet<super::Seniority>,
}

impl Aging {
    pub const OFF: Self = Self {
        top_half_after: None,
        top_tenth_after: None,
        escalate_after: None,
        assign_after: None,
        assign: None,
        overflow_after: None,
        overflow_to: BTreeSet::new(),
    };
}

impl Default for Aging {
    fn default() -> Self {
        Self {
            top_half_after: Some(Duration::hours(12)),
            top_tenth_after: Some(Duration::hours(24)),
            escalate_after: Some(Duration::hours(48)),
            assign_after: Some(Duration::hours(72)),
            assign: None,
            overflow_after: None,
            overflow_to: BTreeSet::new(),
        }
    }
}

/// S5: the steps that take an unclaimed lead out of its pool, by age since it entered the
/// pool; `None` switches a step off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refresh {
    /// To the priority pool, where its age starts again.
    pub move_to: Option<PoolMove>,
    pub nurture_after: Option<Duration>,
    pub archive_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolMove {
    pub to: PoolId,
    pub after: Duration,
}

/// M1, M3 and S6 for one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolHealth {
    pub warning: u32,
    pub critical: u32,
    /// Target time from pool entry to claim.
    pub claim_target: Duration,
    /// Lowercase sources held back while the pool is critical.
    pub pause_sources: BTreeSet<String>,
}

/// Policy-wide health rules (M2, M5, S5 weekly report) and claim quotas (S6).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRules {
    pub depletion_alert_below: f64,
    pub depletion_alert_days: u32,
    pub aged_alert_percent: u32,
    pub low_volume_per_week: u32,
    pub unbalanced_segment_factor: f64,
    pub min_claims_per_day: Option<u32>,
}

impl Default for HealthRules {
    fn default() -> Self {
        Self {
            depletion_alert_below: 0.8,
            depletion_alert_days: 2,
            aged_alert_percent: 20,
            low_volume_per_week: 10,
            unbalanced_segment_factor: 3.0,
            min_claims_per_day: None,
        }
    }
}

pub(crate) const DEFAULT_WARNING: u32 = 50;
pub(crate) const DEFAULT_CRITICAL: u32 = 100;
