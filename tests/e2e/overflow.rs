//! Issue 21.3, P3 "junior reps: the cold pool, or assigned overflow from other pools": a warm
//! pool whose leads nobody took for its overflow age pushes them to juniors — who may not claim
//! there — as assignments they may accept or reject, within their caps and duty, once per stay.

use chrono::Duration;
use leadpool_domain::{Clock, LeadState};
use leadpool_e2e::{Cluster, apply_policy, rep, submit_segmented};
use leadpool_proto::v1;
use leadpool_testing::authed;

use crate::jobs::{lead, run_job};

const POLICY: &str = r#"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: sam, role: ae, seniority: senior }
  - { id: jo, role: sdr, seniority: junior, limits: { activeLeads: 1 } }
  - { id: jay, role: sdr, seniority: junior }
pools:
  - id: warm
    type: tiered
    tier: warm
    access: [{ name: not-juniors, seniority: [senior, standard] }]
    lifecycle: [{ after: 4h, then: overflow }]
routing: { default: { pool: warm } }
"#;

#[tokio::test]
async fn unclaimed_warm_leads_overflow_to_juniors_within_their_caps() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut intake = cluster.intake().await;
    let t0 = cluster.env.clock.now();
    let mut leads = Vec::new();
    for n in 0..4 {
        leads.push(submit_segmented(&mut intake, &format!("warm-{n}"), 60, "", "web").await);
    }
    let early = run_job(
        &cluster,
        "forced-assignment",
        t0 + Duration::hours(4) - Duration::seconds(1),
    )
    .await;
    assert_eq!(early.affected, 0, "not before the overflow age");

    let run = run_job(&cluster, "forced-assignment", t0 + Duration::hours(4)).await;
    assert_eq!(run.affected, 4);
    let mut held = Vec::new();
    for pushed in &leads {
        let now = lead(&cluster, pushed).await;
        assert_eq!(now.state, LeadState::Assigned);
        held.push((now.owner.map(|o| o.to_string()).unwrap(), pushed));
    }
    let mut owners: Vec<&str> = held.iter().map(|(owner, _)| owner.as_str()).collect();
    owners.sort_unstable();
    // Turns alternate, but jo's cap is one open lead: jay takes the rest. The senior, who may
    // claim from the pool, gets none.
    assert_eq!(owners, ["jay", "jay", "jay", "jo"]);

    // An overflow lead is an assignment she may turn down; it then stays in the pool.
    let mut claims = cluster.claim().await;
    let (_, jos) = held.iter().find(|(owner, _)| owner == "jo").unwrap();
    let seen = claims
        .get_lead(authed(
            &rep("jo"),
            v1::GetLeadRequest {
                name: jos.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(
        (seen.assignment(), seen.rejectable),
        (v1::AssignmentKind::Overflow, true)
    );
    claims
        .reject_assignment(authed(
            &rep("jo"),
            v1::RejectAssignmentRequest {
                name: jos.name.clone(),
                reason: "not today".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(lead(&cluster, jos).await.state, LeadState::Available);
    let again = run_job(&cluster, "forced-assignment", t0 + Duration::hours(5)).await;
    assert!(
        !again.leads.contains(&jos.name),
        "once per stay in the pool"
    );
    cluster.stop().await;
}
