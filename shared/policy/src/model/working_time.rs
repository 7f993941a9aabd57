//! Working time: the clock that runs only while the teams working a pool are at work — their
//! business hours, in each team's own time zone, minus their holidays. A pool's contact SLA,
//! lifecycle ages, rotation windows and acceptance window may count it instead of wall time
//! (`workingTime` in the policy); a lead claimed at 17:55 on a Friday with a 2-hour SLA is then
//! due on Monday, not at 19:55.
//!
//! Every question is answered as wall-clock instants, so the store keeps comparing instants:
//! a deadline is [`PoolClock::after`] the start; a lead is old enough for a step once it
//! entered its pool at or before [`PoolClock::before`] now. Both are exact inverses of
//! [`PoolClock::between`]: `between(start, after(start, d)) == d`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How a pool counts one of its clocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum PoolClock {
    /// Every second counts (the brief's default).
    #[default]
    Wall,
    /// Only the working time of the teams that work the pool.
    Working(Arc<WorkingTime>),
}

/// The clocks of one pool (each wall time unless the policy says otherwise).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolClocks {
    /// A claimed lead's contact deadline.
    pub contact_sla: PoolClock,
    /// The lifecycle's ages: top half, top tenth, escalation, forced assignment, moves,
    /// nurture, archive, overflow.
    pub lifecycle: PoolClock,
    /// Exclusive rotation windows.
    pub rotation: PoolClock,
    /// How long an assigned lead waits for its rep's accept.
    pub acceptance: PoolClock,
}

/// Which clocks of a pool a `workingTime` section switches to working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClockName {
    ContactSla,
    Lifecycle,
    Rotation,
    Acceptance,
}

impl ClockName {
    pub const NAMES: &'static [&'static str] =
        &["contactSla", "lifecycle", "rotation", "acceptance"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "contactSla" => Some(Self::ContactSla),
            "lifecycle" => Some(Self::Lifecycle),
            "rotation" => Some(Self::Rotation),
            "acceptance" => Some(Self::Acceptance),
            _ => None,
        }
    }
}

/// One team's part of the working time.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamHours {
    pub team: String,
    pub time_zone: Tz,
    /// Monday first.
    pub days: [bool; 7],
    pub from: NaiveTime,
    /// At or before `from`: the shift ends the next day (a night shift).
    pub to: NaiveTime,
    /// Days off on that date (in the team's time zone).
    pub holidays: BTreeSet<NaiveDate>,
    /// Days off every year: (month, day).
    pub yearly: BTreeSet<(u32, u32)>,
}

impl TeamHours {
    fn works_on(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains(&date)
            && !self.yearly.contains(&(date.month(), date.day()))
    }

    /// The shift that starts on `date`, as instants.
    fn shift(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.works_on(date) {
            return None;
        }
        let end_date = if self.to <= self.from {
            date.succ_opt()?
        } else {
            date
        };
        let start = local_instant(self.time_zone, date, self.from)?;
        let end = local_instant(self.time_zone, end_date, self.to)?;
        (start < end).then_some((start, end))
    }
}

/// The instant a local time falls on: in the hour the clocks skip, as if there were no jump
/// (02:30 → 03:30 new time); in the hour that repeats, the first time round.
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let local = date.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.to_utc()),
        LocalResult::None => tz
            .from_local_datetime(&(local - Duration::hours(1)))
            .earliest()
            .map(|at| at.to_utc() + Duration::hours(1)),
    }
}

/// The union of the working teams' shifts.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingTime {
    pub teams: Vec<TeamHours>,
}

/// How far the arithmetic looks, in days, before it calls a duration "never reached": first
/// a short horizon (almost every question), then up to about five years.
const HORIZONS: [i64; 2] = [64, 1900];

impl WorkingTime {
    /// Every working interval touching the local days from `from` to `to` (both UTC dates,
    /// widened by a day for time-zone offsets), merged and in order.
    fn intervals(&self, from: NaiveDate, to: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut all: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let (Some(first), Some(last)) = (from.pred_opt(), to.succ_opt()) else {
            return all;
        };
        for team in &self.teams {
            let mut date = first;
            while date <= last {
                all.extend(team.shift(date));
                let Some(next) = date.succ_opt() else { break };
                date = next;
            }
        }
        all.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(all.len());
        for (start, end) in all {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// The instant at which `d` of working time has passed since `start`; `None` if that is
    /// beyond the horizon (the teams hardly ever work).
    pub fn after(&self, start: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        if d <= Duration::zero() {
            return Some(start);
        }
        HORIZONS.iter().find_map(|days| {
            let mut left = d;
            let intervals = self.intervals(
                start.date_naive(),
                start.date_naive() + Duration::days(*days),
            );
            for (from, to) in intervals {
                let from = from.max(start);
                if to <= from {
                    continue;
                }
                if to - from >= left {
                    return Some(from + left);
                }
                left -= to - from;
            }
            None
        })
    }

    /// The latest instant from which `d` of working time has passed by `end`: a lead that
    /// entered at or before it is `d` old. `None` if that is beyond the horizon.
    pub fn before(&self, end: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        if d <= Duration::zero() {
            return Some(end);
        }
        HORIZONS.iter().find_map(|days| {
            let mut left = d;
            let intervals =
                self.intervals(end.date_naive() - Duration::days(*days), end.date_naive());
            for (from, to) in intervals.into_iter().rev() {
                let to = to.min(end);
                if to <= from {
                    continue;
                }
                if to - from >= left {
                    return Some(to - left);
                }
                left -= to - from;
            }
            None
        })
    }

    /// The working time between `start` and `end` (zero if `end` is not later).
    pub fn between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
        if end <= start {
            return Duration::zero();
        }
        self.intervals(start.date_naive(), end.date_naive())
            .into_iter()
            .map(|(from, to)| (to.min(end) - from.max(start)).max(Duration::zero()))
            .sum()
    }

    /// Whether `at` is working time.
    pub fn is_working(&self, at: DateTime<Utc>) -> bool {
        self.intervals(at.date_naive(), at.date_naive())
            .iter()
            .any(|(from, to)| *from <= at && at < *to)
    }
}

impl PoolClock {
    /// The instant `d` of this clock after `start`. Working time that is never reached (the
    /// teams do not work within about five years) is the far future.
    pub fn after(&self, start: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        match self {
            Self::Wall => start
                .checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Self::Working(working) => working.after(start, d).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The latest instant from which `d` of this clock has passed by `end`: what entered at or
    /// before it is `d` old. Never reached: the distant past (nothing is that old).
    pub fn before(&self, end: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        match self {
            Self::Wall => end
                .checked_sub_signed(d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            Self::Working(working) => working.before(end, d).unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }

    /// How much of this clock passes between `start` and `end`.
    pub fn between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
        match self {
            Self::Wall => (end - start).max(Duration::zero()),
            Self::Working(working) => working.between(start, end),
        }
    }

    /// Whether this clock runs at `at`.
    pub fn runs_at(&self, at: DateTime<Utc>) -> bool {
        match self {
            Self::Wall => true,
            Self::Working(working) => working.is_working(at),
        }
    }

    pub fn is_wall(&self) -> bool {
        matches!(self, Self::Wall)
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    use super::*;

    fn hours(team: &str, tz: Tz, from: u32, to: u32) -> TeamHours {
        TeamHours {
            team: team.into(),
            time_zone: tz,
            days: [true, true, true, true, true, false, false],
            from: NaiveTime::from_hms_opt(from, 0, 0).unwrap(),
            to: NaiveTime::from_hms_opt(to, 0, 0).unwrap(),
            holidays: BTreeSet::new(),
            yearly: BTreeSet::new(),
        }
    }

    fn local(tz: Tz, text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).unwrap().to_utc()
    }

    fn working(teams: Vec<TeamHours>) -> WorkingTime {
        WorkingTime { teams }
    }

    #[test]
    fn a_friday_evening_deadline_moves_to_monday_morning() {
        let berlin = working(vec![hours("emea", Berlin, 9, 18)]);
        let claimed = local(Berlin, "2026-03-06 17:55");
        let due = berlin.after(claimed, Duration::hours(2)).unwrap();
        assert_eq!(due, local(Berlin, "2026-03-09 10:55"));
        assert_eq!(berlin.between(claimed, due), Duration::hours(2));
        assert_eq!(berlin.before(due, Duration::hours(2)).unwrap(), claimed);
    }

    #[test]
    fn daylight_saving_changes_keep_local_business_hours() {
        // Berlin springs forward on Sunday 2026-03-29; New York falls back on 2026-11-01.
        let berlin = working(vec![hours("emea", Berlin, 9, 18)]);
        let due = berlin
            .after(local(Berlin, "2026-03-27 17:55"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, local(Berlin, "2026-03-30 10:55"));
        assert_eq!(due.to_rfc3339(), "2026-03-30T08:55:00+00:00", "CEST");
        let new_york = working(vec![hours("amer", New_York, 9, 18)]);
        let due = new_york
            .after(local(New_York, "2026-10-30 17:55"), Duration::hours(2))
            .unwrap();
        assert_eq!(
            due.to_rfc3339(),
            "2026-11-02T15:55:00+00:00",
            "EST: 10:55 local"
        );
    }

    #[test]
    fn holidays_dated_and_yearly_are_days_off() {
        let mut team = hours("emea", Berlin, 9, 18);
        team.holidays
            .insert(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        team.yearly.insert((3, 10));
        let berlin = working(vec![team]);
        let due = berlin
            .after(local(Berlin, "2026-03-06 17:55"), Duration::hours(2))
            .unwrap();
        assert_eq!(
            due,
            local(Berlin, "2026-03-11 10:55"),
            "Monday and Tuesday off"
        );
    }

    #[test]
    fn teams_in_several_time_zones_work_the_union_of_their_hours() {
        // 09–18 Berlin (CET: 08–17 UTC) and 09–18 New York (EDT from March 8th: 13–22 UTC):
        // one working span 08:00–22:00 UTC on weekdays.
        let both = working(vec![
            hours("emea", Berlin, 9, 18),
            hours("amer", New_York, 9, 18),
        ]);
        let day = local(Tz::UTC, "2026-03-10 00:00");
        assert_eq!(
            both.between(day, day + Duration::days(1)),
            Duration::hours(14)
        );
        let due = both
            .after(local(Tz::UTC, "2026-03-10 16:00"), Duration::hours(10))
            .unwrap();
        assert_eq!(
            due,
            local(Tz::UTC, "2026-03-11 12:00"),
            "6h today, 4h tomorrow"
        );
    }

    #[test]
    fn forty_eight_working_hours_are_more_than_a_week_of_nine_hour_days() {
        let berlin = PoolClock::Working(Arc::new(working(vec![hours("emea", Berlin, 9, 18)])));
        let entered = local(Berlin, "2026-03-02 09:00");
        // 48h = five days of 9h (45h) and 3h: the second Monday, 12:00.
        assert_eq!(
            berlin.after(entered, Duration::hours(48)),
            local(Berlin, "2026-03-09 12:00")
        );
        assert_eq!(
            PoolClock::Wall.after(entered, Duration::hours(48)),
            local(Berlin, "2026-03-04 09:00")
        );
    }

    #[test]
    fn a_night_shift_runs_past_midnight() {
        let night = working(vec![hours("night", Tz::UTC, 22, 6)]);
        let start = local(Tz::UTC, "2026-03-02 23:00");
        assert_eq!(
            night.after(start, Duration::hours(8)).unwrap(),
            local(Tz::UTC, "2026-03-03 23:00")
        );
    }

    #[test]
    fn teams_that_never_work_never_reach_a_deadline() {
        let mut idle = hours("idle", Tz::UTC, 9, 18);
        idle.days = [false; 7];
        let clock = PoolClock::Working(Arc::new(working(vec![idle])));
        let now = local(Tz::UTC, "2026-03-02 09:00");
        assert_eq!(
            clock.after(now, Duration::hours(1)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            clock.before(now, Duration::hours(1)),
            DateTime::<Utc>::MIN_UTC
        );
    }

    proptest::proptest! {
        /// `after` and `before` invert `between`, from any start, for any span.
        #[test]
        fn after_and_before_invert_between(
            start_minutes in 0i64..(60 * 24 * 400),
            span_minutes in 0i64..(60 * 24 * 30),
        ) {
            let clock = working(vec![
                hours("emea", Berlin, 9, 18),
                hours("amer", New_York, 8, 17),
            ]);
            let start = local(Tz::UTC, "2026-01-01 00:00") + Duration::minutes(start_minutes);
            let span = Duration::minutes(span_minutes);
            let due = clock.after(start, span).unwrap();
            proptest::prop_assert_eq!(clock.between(start, due), span);
            let from = clock.before(due, span).unwrap();
            proptest::prop_assert!(from >= start);
            proptest::prop_assert_eq!(clock.between(from, due), span);
        }
    }
}
