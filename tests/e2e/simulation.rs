//! X8: SimulatePolicy replays a window of history built through the API on the injected clock
//! — 72 leads, one an hour, of which Ann claimed ten — through the policy in force and a
//! candidate, with answers worked out by hand.

use chrono::{DateTime, Duration, Utc};
use leadpool_auth::Role;
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, admin, apply_policy, assert_invalid, claim_next, rep, submit};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::{authed, token};
use tonic::Code;
use tonic_types::StatusExt;

const IN_FORCE: &str = "
apiVersion: leadpool.dev/v1
kind: Policy
metadata: { name: in-force }
teams: [{ id: west, managers: [max] }, { id: east }]
reps:
  - { id: ann, team: west, role: sdr }
  - { id: eve, team: east, role: sdr }
  - { id: max, team: west, role: manager }
pools:
  - { id: west-leads, type: open, access: [{ teams: [west] }] }
  - { id: east-leads, type: open, access: [{ teams: [east] }] }
routing:
  default: { pool: west-leads }
";

/// The same, except that nobody may claim from west-leads.
fn unclaimable() -> String {
    IN_FORCE.replace(
        "access: [{ teams: [west] }]",
        "access: [{ name: nobody, regions: [nowhere] }]",
    )
}

/// A lead an hour for 72 hours from the clock's start; Ann claims one in each of hours 1 to 10.
/// Returns the window's start; the clock stands at its end.
async fn history(cluster: &Cluster) -> DateTime<Utc> {
    apply_policy(&mut cluster.routing().await, IN_FORCE).await;
    let (mut intake, mut claim) = (cluster.intake().await, cluster.claim().await);
    let start = cluster.env.clock.now();
    for hour in 0..72 {
        submit(&mut intake, &format!("lead-{hour}"), 50).await;
        if (1..=10).contains(&hour) {
            claim_next(&mut claim, "ann", "west-leads")
                .await
                .expect("Ann claims");
        }
        cluster.env.clock.advance(Duration::hours(1));
    }
    start
}

fn request(
    document: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    seed: u64,
) -> v1::SimulatePolicyRequest {
    v1::SimulatePolicyRequest {
        document: document.to_owned(),
        from_time: Some(timestamp(from)),
        to_time: Some(timestamp(to)),
        seed,
        runs: 2,
    }
}

async fn simulate(
    cluster: &Cluster,
    who: &str,
    request: v1::SimulatePolicyRequest,
) -> Result<v1::SimulationReport, tonic::Status> {
    cluster
        .scheduler()
        .await
        .simulate_policy(authed(who, request))
        .await
        .map(tonic::Response::into_inner)
}

fn pool<'a>(policy: &'a v1::SimulatedPolicy, name: &str) -> &'a v1::SimulatedPool {
    policy
        .pools
        .iter()
        .find(|p| p.pool == name)
        .unwrap_or_else(|| panic!("{name} in {policy:?}"))
}

#[tokio::test]
async fn a_pool_nobody_may_claim_from_grows_by_the_hour_and_escalates_every_lead_at_48h() {
    let cluster = Cluster::start().await;
    let from = history(&cluster).await;
    let to = cluster.env.clock.now();
    let report = simulate(&cluster, &admin(), request(&unclaimable(), from, to, 7))
        .await
        .expect("simulate");

    let candidate = pool(report.candidate.as_ref().unwrap(), "pools/west-leads");
    let totals = candidate.totals.unwrap();
    assert_eq!((totals.entered, totals.claimed), (72, 0));
    // One more lead each hour until the first one is escalated at 48 h.
    assert_eq!(candidate.depth_by_hour.len(), 72);
    for (hour, depth) in candidate.depth_by_hour.iter().enumerate().take(49) {
        assert_eq!(*depth, hour as i64, "hour {hour}");
    }
    // The leads of the first 24 hours reach 48 h within the window.
    assert_eq!(totals.escalated, 24);
    assert_eq!(candidate.claims_by_hour.iter().sum::<i64>(), 0);

    // The policy in force lets Ann claim; the model is checked against her ten claims.
    let in_force = pool(report.current.as_ref().unwrap(), "pools/west-leads");
    assert!(in_force.totals.unwrap().claimed > 0, "{in_force:?}");
    let validation = report.validation.unwrap();
    let west = validation
        .pools
        .iter()
        .find(|p| p.pool == "pools/west-leads")
        .unwrap();
    assert_eq!(west.claims.unwrap().actual, 10.0);
    assert_eq!(report.model.unwrap().fitted_reps, ["reps/ann"]);

    // The same seed, the same answer.
    let again = simulate(&cluster, &admin(), request(&unclaimable(), from, to, 7))
        .await
        .expect("simulate again");
    assert_eq!(again.current, report.current);
    assert_eq!(again.candidate, report.candidate);
    cluster.stop().await;
}

#[tokio::test]
async fn a_manager_sees_the_pools_and_reps_of_her_teams_only() {
    let cluster = Cluster::start().await;
    let from = history(&cluster).await;
    let to = cluster.env.clock.now();
    let names = |report: &v1::SimulationReport| {
        let current = report.current.as_ref().unwrap();
        let pools: Vec<String> = current.pools.iter().map(|p| p.pool.clone()).collect();
        let reps: Vec<String> = current
            .fairness
            .as_ref()
            .unwrap()
            .reps
            .iter()
            .map(|r| r.rep.clone())
            .collect();
        (pools, reps)
    };
    let everything = simulate(&cluster, &admin(), request(IN_FORCE, from, to, 1))
        .await
        .expect("admin simulates");
    assert_eq!(
        names(&everything).0,
        ["pools/west-leads", "pools/east-leads"]
    );
    let max = token("reps/max", &[Role::Manager]);
    let hers = simulate(&cluster, &max, request(IN_FORCE, from, to, 1))
        .await
        .expect("manager simulates");
    assert_eq!(
        names(&hers),
        (
            vec!["pools/west-leads".to_owned()],
            vec!["reps/ann".to_owned()]
        )
    );
    let refused = simulate(&cluster, &rep("ann"), request(IN_FORCE, from, to, 1)).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    cluster.stop().await;
}

#[tokio::test]
async fn a_window_without_inflow_is_refused_and_a_bad_window_is_invalid() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, IN_FORCE).await;
    let now = cluster.env.clock.now();

    let empty = simulate(
        &cluster,
        &admin(),
        request(IN_FORCE, now - Duration::days(7), now, 1),
    )
    .await
    .unwrap_err();
    assert_eq!(empty.code(), Code::FailedPrecondition, "{empty:?}");
    assert_eq!(
        empty.get_details_error_info().unwrap().reason,
        "NOTHING_TO_REPLAY"
    );
    assert!(empty.message().contains("no lead arrived"), "{empty:?}");

    let mut scheduler = cluster.scheduler().await;
    let mut call = async |request| scheduler.simulate_policy(authed(&admin(), request)).await;
    assert_invalid(
        call(request(IN_FORCE, now, now - Duration::hours(1), 1)).await,
        &["to_time"],
    );
    assert_invalid(
        call(request(IN_FORCE, now, now + Duration::hours(1), 1)).await,
        &["to_time"],
    );
    assert_invalid(
        call(request(IN_FORCE, now - Duration::days(100), now, 1)).await,
        &["to_time"],
    );
    assert_invalid(
        call(v1::SimulatePolicyRequest {
            runs: 21,
            ..request(IN_FORCE, now - Duration::days(1), now, 1)
        })
        .await,
        &["runs"],
    );
    assert_invalid(
        call(request("", now - Duration::days(1), now, 1)).await,
        &["document"],
    );
    assert_invalid(
        call(v1::SimulatePolicyRequest {
            from_time: None,
            ..request(IN_FORCE, now - Duration::days(1), now, 1)
        })
        .await,
        &["from_time"],
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_leads_waiting_when_the_window_starts_are_replayed_with_it() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, IN_FORCE).await;
    let (mut intake, mut claim) = (cluster.intake().await, cluster.claim().await);
    // Four leads before the window; Ann claims two of them before it and a third in it.
    for n in 0..4 {
        submit(&mut intake, &format!("before-{n}"), 50).await;
    }
    cluster.env.clock.advance(Duration::hours(1));
    for _ in 0..2 {
        claim_next(&mut claim, "ann", "west-leads")
            .await
            .expect("Ann claims before the window");
    }
    cluster.env.clock.advance(Duration::hours(1));
    let from = cluster.env.clock.now();
    cluster.env.clock.advance(Duration::minutes(30));
    claim_next(&mut claim, "ann", "west-leads")
        .await
        .expect("Ann claims in the window");
    submit(&mut intake, "in-the-window", 50).await;
    cluster.env.clock.advance(Duration::hours(3));
    let to = cluster.env.clock.now();

    let report = simulate(&cluster, &admin(), request(&unclaimable(), from, to, 1))
        .await
        .expect("simulate");
    let candidate = pool(report.candidate.as_ref().unwrap(), "pools/west-leads");
    // Waiting at the start: the two Ann had not claimed by then (one of them she claimed
    // later, which must not hide it); the lead of the window arrives in its first hour, and
    // nobody may claim in the candidate: hours 0 to 3 of the three and a half.
    assert_eq!(candidate.depth_by_hour, [2, 3, 3, 3], "{candidate:?}");
    assert_eq!(candidate.totals.unwrap().entered, 1);
    cluster.stop().await;
}
