//! Issue 21.1: clocks that count working time. A pool whose `workingTime` names the teams that
//! work it counts its contact SLA and its lifecycle in their business hours — each team's own
//! time zone, across daylight-saving changes, minus their holidays — and the deadlines shown
//! are the real instants that gives; `RunJob` as of any time agrees with them.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use leadpool_domain::{Clock, LeadState};
use leadpool_e2e::{Cluster, apply_policy, submit_segmented};
use leadpool_proto::v1;
use leadpool_server::convert::from_timestamp;

use crate::jobs::{lead, run_job};
use crate::rules::claim_lead;

const POLICY: &str = r#"
apiVersion: leadpool.dev/v1
kind: Policy
holidays:
  - { id: de, dates: ["2026-03-31"] }
  - { id: us, yearly: ["11-03"] }
teams:
  - { id: emea, timeZone: Europe/Berlin, businessHours: { from: "09:00", to: "18:00" }, holidays: [de] }
  - { id: amer, timeZone: America/New_York, businessHours: { from: "09:00", to: "18:00" }, holidays: [us] }
reps:
  - { id: eva, team: emea, role: ae }
  - { id: abe, team: amer, role: ae }
pools:
  - id: berlin
    type: segmented
    contactSla: 2h
    workingTime: { teams: [emea], clocks: [contactSla] }
  - id: new-york
    type: segmented
    contactSla: 2h
    workingTime: { teams: [amer] }
  - id: wall
    type: segmented
    contactSla: 2h
    lifecycle: [{ after: 48h, then: escalate }]
  - id: working
    type: segmented
    lifecycle: [{ after: 48h, then: escalate }]
    workingTime: { teams: [emea], clocks: [lifecycle] }
routing:
  rules:
    - { name: berlin, match: { regions: [berlin] }, pool: berlin }
    - { name: new-york, match: { regions: [new-york] }, pool: new-york }
    - { name: wall, match: { regions: [wall] }, pool: wall }
    - { name: working, match: { regions: [working] }, pool: working }
"#;

fn local(tz: Tz, text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive).unwrap().to_utc()
}

/// Moves the test's clock forward to `at`.
fn set_clock(cluster: &Cluster, at: DateTime<Utc>) {
    let now = cluster.env.clock.now();
    assert!(at >= now, "the clock only moves forward");
    cluster.env.clock.advance(at - now);
}

fn due_of(claimed: &v1::Lead) -> DateTime<Utc> {
    from_timestamp(
        claimed.contact_due_time.as_ref().unwrap(),
        "contact_due_time",
    )
    .unwrap()
}

/// The lead expires exactly at `due`: not a minute before, at the minute itself.
async fn expires_at(cluster: &Cluster, claimed: &v1::Lead, due: DateTime<Utc>) {
    let before = run_job(cluster, "sla-expiry", due - Duration::minutes(1)).await;
    assert!(!before.leads.contains(&claimed.name), "not before {due}");
    let at = run_job(cluster, "sla-expiry", due).await;
    assert!(at.leads.contains(&claimed.name), "at {due}");
    assert_eq!(lead(cluster, claimed).await.state, LeadState::Available);
}

#[tokio::test]
async fn a_friday_evening_claim_is_due_on_the_next_working_day_in_its_teams_time_zone() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut intake = cluster.intake().await;

    // Berlin: Friday 27 March 2026, 17:55; the clocks go forward on Sunday; Monday works
    // (5 minutes on Friday, then 1h55 from 09:00 CEST).
    set_clock(&cluster, local(Berlin, "2026-03-27 17:55"));
    let berlin = submit_segmented(&mut intake, "berlin-1", 50, "berlin", "web").await;
    let claimed = claim_lead(&cluster, "eva", &berlin.name).await;
    let due = due_of(&claimed);
    assert_eq!(due, local(Berlin, "2026-03-30 10:55"));
    assert_eq!(due.to_rfc3339(), "2026-03-30T08:55:00+00:00", "summer time");
    expires_at(&cluster, &claimed, due).await;

    // Monday 30 March, 17:30: half an hour today, and Tuesday 31 March is a holiday: due
    // Wednesday 10:30.
    set_clock(&cluster, local(Berlin, "2026-03-30 17:30"));
    let again = claim_lead(&cluster, "eva", &berlin.name).await;
    assert_eq!(due_of(&again), local(Berlin, "2026-04-01 10:30"));

    // New York: Friday 30 October 2026, 17:55 EDT; the clocks go back on Sunday, and Tuesday
    // 3 November is a yearly holiday. Monday works: due 10:55 EST.
    set_clock(&cluster, local(New_York, "2026-10-30 17:55"));
    let new_york = submit_segmented(&mut intake, "ny-1", 50, "new-york", "web").await;
    let claimed = claim_lead(&cluster, "abe", &new_york.name).await;
    let due = due_of(&claimed);
    assert_eq!(due.to_rfc3339(), "2026-11-02T15:55:00+00:00", "10:55 EST");
    expires_at(&cluster, &claimed, due).await;
    // Claimed Monday at 17:00: one hour that day, Tuesday off: due Wednesday 10:00.
    set_clock(&cluster, local(New_York, "2026-11-02 17:00"));
    let again = claim_lead(&cluster, "abe", &new_york.name).await;
    assert_eq!(due_of(&again), local(New_York, "2026-11-04 10:00"));
    cluster.stop().await;
}

#[tokio::test]
async fn the_lifecycle_escalates_after_48_working_hours_not_48_wall_hours() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut intake = cluster.intake().await;
    let entered = local(Berlin, "2026-03-09 09:00");
    set_clock(&cluster, entered);
    let on_wall = submit_segmented(&mut intake, "wall-1", 50, "wall", "web").await;
    let on_work = submit_segmented(&mut intake, "work-1", 50, "working", "web").await;

    // 48 wall hours later the wall-time pool escalates; the working-time pool does not.
    let two_days = entered + Duration::hours(48);
    let aged = run_job(&cluster, "aging", two_days).await;
    assert!(aged.leads.contains(&on_wall.name));
    assert!(!aged.leads.contains(&on_work.name));
    // 48 working hours of 9-hour days: five days (45h) and three hours — the next Monday,
    // 12:00. Not a minute before.
    let worked = local(Berlin, "2026-03-16 12:00");
    let almost = run_job(&cluster, "aging", worked - Duration::minutes(1)).await;
    assert!(!almost.leads.contains(&on_work.name));
    let aged = run_job(&cluster, "aging", worked).await;
    assert!(aged.leads.contains(&on_work.name));
    assert_eq!(lead(&cluster, &on_work).await.state, LeadState::Escalated);
    cluster.stop().await;
}
