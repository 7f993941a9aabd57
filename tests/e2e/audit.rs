//! The audit log: every administrative action through the API appends who, when, from where
//! and what; refused and dry-run calls append nothing; admins list it with filters and pages;
//! nobody can change or delete a row.

use leadpool_auth::Role;
use leadpool_e2e::{Cluster, admin, apply_policy, claim_next, submit};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::{authed, token};
use tonic::Code;

const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
teams: [{ id: west, managers: [max] }]
reps:
  - { id: ann, team: west, role: sdr }
  - { id: ben, team: west, role: sdr }
  - { id: max, team: west, role: manager }
pools: [{ id: inbound, type: open }]
routing:
  default: { pool: inbound }
";

fn manager() -> String {
    token("reps/max", &[Role::Manager])
}

async fn audit(
    cluster: &Cluster,
    filter: v1::ListAuditRecordsRequest,
) -> v1::ListAuditRecordsResponse {
    cluster
        .routing()
        .await
        .list_audit_records(authed(&admin(), filter))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn every_administrative_action_is_recorded_and_listed_with_filters() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let version = apply_policy(&mut routing, POLICY).await;
    routing
        .create_pool(authed(
            &admin(),
            v1::CreatePoolRequest {
                pool_id: "overflow".into(),
                kind: v1::PoolKind::Open.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let mut intake = cluster.intake().await;
    let first = submit(&mut intake, "first", 50).await;
    let second = submit(&mut intake, "second", 50).await;
    let mut claim = cluster.claim().await;
    claim
        .assign_lead(authed(
            &manager(),
            v1::AssignLeadRequest {
                name: first.name.clone(),
                rep: "reps/ann".into(),
                reason: "national account".into(),
                override_open_lead_cap: false,
            },
        ))
        .await
        .unwrap();
    // Refused, and a dry run: neither is an action.
    let refused = claim
        .assign_lead(authed(
            &manager(),
            v1::AssignLeadRequest {
                name: second.name.clone(),
                rep: "reps/nobody".into(),
                reason: "typo".into(),
                override_open_lead_cap: false,
            },
        ))
        .await
        .unwrap_err();
    assert_ne!(refused.code(), Code::Ok);
    let reassign = |validate_only| v1::ReassignLeadsRequest {
        from_rep: "reps/ann".into(),
        destination: Some(v1::reassign_leads_request::Destination::ToRep(
            "reps/ben".into(),
        )),
        reason: "ann on vacation".into(),
        validate_only,
        ..Default::default()
    };
    claim
        .reassign_leads(authed(&manager(), reassign(true)))
        .await
        .unwrap();
    claim
        .reassign_leads(authed(&manager(), reassign(false)))
        .await
        .unwrap();
    claim_next(&mut claim, "ann", "inbound").await.unwrap();
    claim
        .return_lead(authed(
            &manager(),
            v1::ReturnLeadRequest {
                name: second.name.clone(),
                reason: "customer asked".into(),
            },
        ))
        .await
        .unwrap();
    cluster
        .scheduler()
        .await
        .run_job(authed(
            &admin(),
            v1::RunJobRequest {
                name: "jobs/aging".into(),
                as_of: None,
            },
        ))
        .await
        .unwrap();
    intake
        .erase_lead(authed(
            &admin(),
            v1::EraseLeadRequest {
                name: second.name.clone(),
            },
        ))
        .await
        .unwrap();

    let all = audit(&cluster, v1::ListAuditRecordsRequest::default()).await;
    let actions: Vec<(&str, &str, &str)> = all
        .records
        .iter()
        .rev()
        .map(|r| (r.actor.as_str(), r.action.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("users/ops", "policy.apply", "policy"),
            ("users/ops", "pool.create", "pools/overflow"),
            ("reps/max", "lead.assign", first.name.as_str()),
            ("reps/max", "leads.reassign", "reps/ann"),
            ("reps/max", "lead.return", second.name.as_str()),
            ("users/ops", "job.run", "jobs/aging"),
            ("users/ops", "lead.erase", second.name.as_str()),
        ]
    );
    let applied = all.records.last().unwrap();
    assert!(
        applied.detail.contains(&format!("\"version\":{version}")),
        "{}",
        applied.detail
    );
    assert!(
        applied.origin.starts_with("127.0.0.1:"),
        "{}",
        applied.origin
    );
    assert_eq!(applied.roles, ["admin"]);
    let assigned = &all.records[4];
    assert!(
        assigned.detail.contains("national account"),
        "{}",
        assigned.detail
    );
    assert!(assigned.time.is_some());

    // Filters, and pages newest first.
    let by_max = audit(
        &cluster,
        v1::ListAuditRecordsRequest {
            actor: "reps/max".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_max.records.len(), 3);
    let erasures = audit(
        &cluster,
        v1::ListAuditRecordsRequest {
            action: "lead.erase".into(),
            target: second.name.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(erasures.records.len(), 1);
    let later = audit(
        &cluster,
        v1::ListAuditRecordsRequest {
            since_time: Some(timestamp(
                leadpool_domain::Clock::now(&cluster.env.clock) + chrono::Duration::seconds(1),
            )),
            ..Default::default()
        },
    )
    .await;
    assert!(later.records.is_empty());
    let page = audit(
        &cluster,
        v1::ListAuditRecordsRequest {
            page_size: 4,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(page.records.len(), 4);
    let rest = audit(
        &cluster,
        v1::ListAuditRecordsRequest {
            page_size: 4,
            page_token: page.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rest.records.len(), 3);
    assert!(rest.next_page_token.is_empty());
    assert!(page.records.last().unwrap().id > rest.records[0].id);

    // Admins only; a bad filter is named.
    let denied = cluster
        .routing()
        .await
        .list_audit_records(authed(&manager(), v1::ListAuditRecordsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let bad = cluster
        .routing()
        .await
        .list_audit_records(authed(
            &admin(),
            v1::ListAuditRecordsRequest {
                action: "lead.steal".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    cluster.stop().await;
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed_or_emptied() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let db = cluster.env.db.store().pool().clone();
    for statement in [
        "UPDATE audit_log SET actor = 'users/nobody'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&db).await.unwrap_err();
        assert!(
            refused.to_string().contains("audit_log is append-only"),
            "{statement}: {refused}"
        );
    }
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_log")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the policy apply is still there");
    cluster.stop().await;
}
