//! Holiday calendars, and which of a pool's clocks count the working time of the teams that
//! work it (`workingTime`, policy-wide or per pool).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::Checker;
use crate::document::{PolicyDocument, WorkingTimeDoc};
use crate::model::{ClockName, PoolClock, PoolClocks, Team, TeamHours, WorkingTime};

/// A calendar's days off: dated, and (month, day) every year.
pub(crate) type Holidays = (BTreeSet<NaiveDate>, BTreeSet<(u32, u32)>);

/// Every holiday calendar of the document, by id.
pub(crate) fn compile_holidays(
    c: &mut Checker,
    doc: &PolicyDocument,
) -> BTreeMap<String, Holidays> {
    let ids = super::index_ids(
        c,
        "holidays",
        doc.holidays.iter().map(|h| h.id.as_str()),
        "holiday calendar",
    );
    let mut calendars = BTreeMap::new();
    for (i, calendar) in doc.holidays.iter().enumerate() {
        let path = format!("holidays[{i}]");
        let dates = calendar
            .dates
            .iter()
            .enumerate()
            .filter_map(|(d, text)| {
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
                if date.is_none() {
                    c.error(
                        format!("{path}.dates[{d}]"),
                        format!("`{text}` is not a date such as 2026-12-24"),
                    );
                }
                date
            })
            .collect();
        let yearly = calendar
            .yearly
            .iter()
            .enumerate()
            .filter_map(|(y, text)| {
                // Any leap year checks that the day exists (02-29 is fine).
                let day = NaiveDate::parse_from_str(&format!("2028-{text}"), "%Y-%m-%d").ok();
                if day.is_none() {
                    c.error(
                        format!("{path}.yearly[{y}]"),
                        format!("`{text}` is not a month and day such as 12-25"),
                    );
                }
                day.map(|d| (chrono::Datelike::month(&d), chrono::Datelike::day(&d)))
            })
            .collect();
        if ids.get(&calendar.id) == Some(&i) {
            calendars.insert(calendar.id.clone(), (dates, yearly));
        }
    }
    calendars
}

/// The days off of the calendars a team names (`teams[i].holidays`).
pub(crate) fn team_holidays(
    c: &mut Checker,
    path: &str,
    names: &[String],
    calendars: &BTreeMap<String, Holidays>,
) -> Holidays {
    let mut days: Holidays = Default::default();
    for (h, name) in names.iter().enumerate() {
        match calendars.get(name) {
            Some((dates, yearly)) => {
                days.0.extend(dates);
                days.1.extend(yearly);
            }
            None => c.error(
                format!("{path}.holidays[{h}]"),
                format!("names holiday calendar `{name}`, which the policy does not define"),
            ),
        }
    }
    days
}

/// A pool's clocks: its own `workingTime`, else the policy's, else wall time throughout.
pub(crate) fn pool_clocks(
    c: &mut Checker,
    path: &str,
    own: Option<&WorkingTimeDoc>,
    doc: &PolicyDocument,
    teams: &BTreeMap<String, Team>,
) -> PoolClocks {
    let (section, at) = match (own, &doc.working_time) {
        (Some(own), _) => (own, format!("{path}.workingTime")),
        (None, Some(policy)) => (policy, "workingTime".to_owned()),
        (None, None) => return PoolClocks::default(),
    };
    let Some((working, clocks)) = working_time(c, &at, section, teams) else {
        return PoolClocks::default();
    };
    let clock = |name| {
        if clocks.contains(&name) {
            PoolClock::Working(working.clone())
        } else {
            PoolClock::Wall
        }
    };
    PoolClocks {
        contact_sla: clock(ClockName::ContactSla),
        lifecycle: clock(ClockName::Lifecycle),
        rotation: clock(ClockName::Rotation),
        acceptance: clock(ClockName::Acceptance),
    }
}

fn working_time(
    c: &mut Checker,
    path: &str,
    section: &WorkingTimeDoc,
    teams: &BTreeMap<String, Team>,
) -> Option<(Arc<WorkingTime>, BTreeSet<ClockName>)> {
    if section.teams.is_empty() {
        c.error(
            format!("{path}.teams"),
            "names no team: whose working time counts?",
        );
    }
    let mut parts = Vec::new();
    for (t, id) in section.teams.iter().enumerate() {
        let at = format!("{path}.teams[{t}]");
        let Some(team) = teams.get(id) else {
            c.error(
                at,
                format!("names team `{id}`, which the policy does not define"),
            );
            continue;
        };
        let Some(hours) = &team.business_hours else {
            c.error(
                at,
                format!("team `{id}` has no businessHours to count working time by"),
            );
            continue;
        };
        parts.push(TeamHours {
            team: id.clone(),
            time_zone: team.time_zone,
            days: hours.days,
            from: hours.from,
            to: hours.to,
            holidays: team.holidays.clone(),
            yearly: team.yearly_holidays.clone(),
        });
    }
    let clocks: BTreeSet<ClockName> = if section.clocks.is_empty() {
        [
            ClockName::ContactSla,
            ClockName::Lifecycle,
            ClockName::Rotation,
            ClockName::Acceptance,
        ]
        .into()
    } else {
        c.choices(
            &format!("{path}.clocks"),
            &section.clocks,
            ClockName::from_name,
            ClockName::NAMES,
        )
    };
    (parts.len() == section.teams.len() && !parts.is_empty())
        .then(|| (Arc::new(WorkingTime { teams: parts }), clocks))
}
