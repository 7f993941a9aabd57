//! Issue 21.5: a rep says herself that she is away and back, with a reason, within what the
//! policy allows — not during her on-call shift, not too far ahead; forced assignment then
//! passes her over, her manager sees who set it, and the audit log records it.

use chrono::Duration;
use leadpool_auth::Role;
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, admin, apply_policy, rep, submit_segmented};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::{authed, token};
use tonic::Code;
use tonic_types::StatusExt;

use crate::jobs::{lead, run_job};

const POLICY: &str = r#"
apiVersion: leadpool.dev/v1
kind: Policy
teams: [{ id: west }]
reps:
  - { id: ann, team: west, role: ae }
  - { id: ben, team: west, role: ae }
  - { id: max, team: west, role: manager }
rotations:
  - { id: on-call, shifts: [[ann], [ben]], shiftLength: 1w, start: "2026-03-02T00:00:00Z" }
pools:
  - id: inbound
    type: open
    lifecycle: [{ after: 1h, then: force-assign, assign: { strategy: round-robin, reps: [ben, ann] } }]
routing: { default: { pool: inbound } }
"#;

fn away(
    who: &str,
    until: chrono::DateTime<chrono::Utc>,
    note: &str,
) -> v1::SetRepAvailabilityRequest {
    v1::SetRepAvailabilityRequest {
        rep: format!("reps/{who}"),
        availability: Some(v1::set_rep_availability_request::Availability::Busy(
            v1::Busy {
                until_time: Some(timestamp(until)),
                note: note.to_owned(),
            },
        )),
    }
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_rep_sets_herself_away_within_the_policy_and_pushes_pass_her_over() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut routing = cluster.routing().await;
    let now = cluster.env.clock.now();

    // ann is on call this week: she cannot take herself off duty.
    let refused = routing
        .set_rep_availability(authed(
            &rep("ann"),
            away("ann", now + Duration::hours(2), "dentist"),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason_of(&refused).as_str()),
        (Code::FailedPrecondition, "AVAILABILITY_NOT_ALLOWED")
    );
    assert!(
        refused.message().contains("rotation `on-call`"),
        "{}",
        refused.message()
    );
    // Nor someone else, nor without saying why.
    let other = routing
        .set_rep_availability(authed(
            &rep("ann"),
            away("ben", now + Duration::hours(2), "x"),
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    leadpool_e2e::assert_invalid(
        routing
            .set_rep_availability(authed(
                &rep("ben"),
                away("ben", now + Duration::hours(2), ""),
            ))
            .await,
        &["busy.note"],
    );
    let too_far = routing
        .set_rep_availability(authed(
            &rep("ben"),
            away("ben", now + Duration::days(31), "trip"),
        ))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&too_far), "AVAILABILITY_NOT_ALLOWED");

    // ben, off call this week, is busy for two hours: forced assignment passes him over.
    routing
        .set_rep_availability(authed(
            &rep("ben"),
            away("ben", now + Duration::hours(2), "dentist"),
        ))
        .await
        .unwrap();
    let waiting = submit_segmented(&mut cluster.intake().await, "w-1", 50, "", "web").await;
    run_job(&cluster, "forced-assignment", now + Duration::hours(1)).await;
    let forced = lead(&cluster, &waiting).await;
    assert_eq!(forced.owner.map(|o| o.to_string()), Some("ann".to_owned()));

    // His manager sees who set it and why; the audit log has it.
    let seen = routing
        .get_rep(authed(
            &token("reps/max", &[Role::Manager]),
            v1::GetRepRequest {
                name: "reps/ben".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .rep
        .unwrap();
    let setting = seen.availability.unwrap().setting.unwrap();
    assert_eq!(
        (setting.set_by.as_str(), setting.note.as_str()),
        ("reps/ben", "dentist")
    );
    let audit = routing
        .list_audit_records(authed(
            &admin(),
            v1::ListAuditRecordsRequest {
                actor: "reps/ben".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "rep.availability");

    // Back again, by himself.
    routing
        .set_rep_availability(authed(
            &rep("ben"),
            v1::SetRepAvailabilityRequest {
                rep: "reps/ben".into(),
                availability: Some(v1::set_rep_availability_request::Availability::Available(
                    v1::Available {},
                )),
            },
        ))
        .await
        .unwrap();

    // A policy that leaves availability to managers refuses it.
    apply_policy(
        &mut cluster.routing().await,
        &(POLICY.to_owned() + "selfAvailability: { allowed: false }\n"),
    )
    .await;
    let closed = routing
        .set_rep_availability(authed(
            &rep("ben"),
            away("ben", now + Duration::hours(2), "sick"),
        ))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&closed), "AVAILABILITY_NOT_ALLOWED");
    cluster.stop().await;
}
