//! Managers and reps close the loop: escalated leads found and assigned, leads moved off a rep
//! who is away, availability without a policy apply, lead lookup and search, erasure — each
//! with who may do it, what bad input answers, and races that must have exactly one winner.

use chrono::Duration;
use futures::future::join_all;
use leadpool_auth::Role;
use leadpool_domain::Clock;
use leadpool_e2e::{
    Cluster, admin, all_pages, apply_policy, assert_invalid, code_of, names_of, rep,
    submit_request, submit_segmented,
};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_server::convert::timestamp;
use leadpool_testing::{authed, token};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::jobs::run_job;

const TEAMS: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
teams:
  - { id: west }
  - { id: east }
reps:
  - { id: wendy, team: west, role: ae, regions: [west] }
  - { id: will, team: west, role: ae, regions: [west] }
  - { id: max, team: west, role: manager }
  - { id: mo, team: west, role: manager }
  - { id: eric, team: east, role: ae, regions: [east] }
  - { id: mona, team: east, role: manager }
pools:
  - id: west
    type: segmented
    access: [{ name: west-reps, regions: [west] }]
  - id: east
    type: segmented
    access: [{ name: east-reps, regions: [east] }]
routing:
  rules:
    - { name: referrals, match: { sources: [referral] }, assign: { strategy: round-robin, reps: [wendy, will] } }
    - { name: west, match: { regions: [west] }, pool: west }
    - { name: east, match: { regions: [east] }, pool: east }
";

fn manager(id: &str) -> String {
    token(&format!("reps/{id}"), &[Role::Manager])
}

fn service() -> String {
    token("services/crm", &[Role::Service])
}

async fn start() -> Cluster {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, TEAMS).await;
    cluster
}

async fn lead_in(cluster: &Cluster, key: &str, region: &str) -> v1::Lead {
    submit_segmented(&mut cluster.intake().await, key, 50, region, "web").await
}

/// Leads of `region` escalated by aging (48 h unclaimed).
async fn escalated(cluster: &Cluster, keys: &[&str], region: &str) -> Vec<v1::Lead> {
    let mut leads = Vec::new();
    for key in keys {
        leads.push(lead_in(cluster, key, region).await);
    }
    cluster.env.clock.advance(Duration::hours(49));
    run_job(cluster, "aging", cluster.env.clock.now()).await;
    leads
}

async fn list(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    request: v1::ListLeadsRequest,
) -> Result<Vec<String>, tonic::Status> {
    claim
        .list_leads(authed(who, request))
        .await
        .map(|r| r.into_inner().leads.into_iter().map(|l| l.name).collect())
}

async fn get(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    lead: &str,
) -> Result<v1::GetLeadResponse, tonic::Status> {
    claim
        .get_lead(authed(
            who,
            v1::GetLeadRequest {
                name: lead.to_owned(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn assign(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    lead: &str,
    to: &str,
) -> Result<v1::Lead, tonic::Status> {
    claim
        .assign_lead(authed(
            who,
            v1::AssignLeadRequest {
                name: lead.to_owned(),
                rep: format!("reps/{to}"),
                reason: "escalation queue".to_owned(),
                override_open_lead_cap: false,
            },
        ))
        .await
        .map(|r| r.into_inner().lead.expect("lead"))
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn an_escalated_lead_is_found_by_its_teams_manager_assigned_and_seen_by_its_rep() {
    let cluster = start().await;
    let mut claim = cluster.claim().await;
    let west = escalated(&cluster, &["w1"], "west").await;
    let east = escalated(&cluster, &["e1"], "east").await;
    let escalated_only = v1::ListLeadsRequest {
        states: vec![v1::LeadState::Escalated.into()],
        ..Default::default()
    };

    // max oversees west: he finds west's escalated lead and not east's.
    let found = list(&mut claim, &manager("max"), escalated_only.clone())
        .await
        .unwrap();
    assert_eq!(found, [west[0].name.clone()]);
    let everything = list(&mut claim, &admin(), escalated_only).await.unwrap();
    assert_eq!(everything.len(), 2, "admins see every escalated lead");
    assert!(everything.contains(&east[0].name));

    let assigned = assign(&mut claim, &manager("max"), &west[0].name, "wendy")
        .await
        .unwrap();
    assert_eq!(
        (assigned.state(), assigned.owner.as_str()),
        (v1::LeadState::Assigned, "reps/wendy")
    );
    assert!(
        assigned.contact_due_time.is_some(),
        "the contact SLA runs from the assignment"
    );
    assert!(
        !assigned.rejectable,
        "a manager's assignment leaves no choice by default"
    );

    // wendy sees it among her leads and can look it up; the history names the manager.
    let hers = list(&mut claim, &rep("wendy"), v1::ListLeadsRequest::default())
        .await
        .unwrap();
    assert_eq!(hers, [west[0].name.clone()]);
    let looked_up = get(&mut claim, &rep("wendy"), &west[0].name).await.unwrap();
    assert_eq!(looked_up.lead.unwrap().owner, "reps/wendy");
    let last = looked_up.last_change.unwrap();
    assert_eq!(
        (last.actor.as_str(), last.kind.as_str(), last.from_state()),
        ("reps/max", "lead.assigned", v1::LeadState::Escalated)
    );
    assert!(last.reason.contains("escalation queue"), "{}", last.reason);
    cluster.stop().await;
}

#[tokio::test]
async fn a_rep_away_is_skipped_by_every_push_and_her_leads_move_until_she_is_back() {
    let cluster = start().await;
    let mut claim = cluster.claim().await;
    let mut routing = cluster.routing().await;
    let now = cluster.env.clock.now();
    // Two leads wendy holds before she leaves.
    let mut held = Vec::new();
    for key in ["h1", "h2"] {
        let lead = lead_in(&cluster, key, "west").await;
        held.push(
            claim
                .claim_lead(authed(
                    &rep("wendy"),
                    v1::ClaimLeadRequest {
                        name: lead.name.clone(),
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .lead
                .unwrap(),
        );
    }
    let set = routing
        .set_rep_availability(authed(
            &manager("max"),
            v1::SetRepAvailabilityRequest {
                rep: "reps/wendy".to_owned(),
                availability: Some(v1::set_rep_availability_request::Availability::OutOfOffice(
                    v1::OutOfOffice {
                        from_time: None,
                        until_time: Some(timestamp(now + Duration::days(5))),
                        note: "vacation".to_owned(),
                    },
                )),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .rep
        .unwrap();
    let availability = set.availability.unwrap();
    assert_eq!(
        (availability.status(), availability.source.as_str()),
        (v1::AvailabilityStatus::OutOfOffice, "api")
    );

    // Auto-assignment passes her over: every referral goes to will.
    for key in ["r1", "r2"] {
        let mut referral = leadpool_e2e::lead_request(key, 60);
        referral.source = "referral".to_owned();
        referral.region = "west".to_owned();
        let lead = submit_request(&mut cluster.intake().await, referral)
            .await
            .lead
            .unwrap();
        assert_eq!(lead.owner, "reps/will", "{key}");
    }
    // Forced assignment (72 h) passes her over too: the old lead goes to will.
    let old = lead_in(&cluster, "old", "west").await;
    cluster.env.clock.advance(Duration::hours(73));
    let forced = run_job(&cluster, "forced-assignment", cluster.env.clock.now()).await;
    assert!(forced.leads.contains(&old.name), "{forced:?}");
    let old = get(&mut claim, &admin(), &old.name)
        .await
        .unwrap()
        .lead
        .unwrap();
    assert_eq!(
        (old.owner.as_str(), old.assignment()),
        ("reps/will", v1::AssignmentKind::Forced),
        "forced assignment skips a rep who is away"
    );

    // Her open leads move back to their pools while she is away.
    let moved = claim
        .reassign_leads(authed(
            &manager("max"),
            v1::ReassignLeadsRequest {
                from_rep: "reps/wendy".to_owned(),
                destination: Some(v1::reassign_leads_request::Destination::ToPools(true)),
                reason: "wendy on vacation".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut moved_names: Vec<String> = moved.moved.iter().map(|m| m.lead.clone()).collect();
    moved_names.sort();
    let mut held_names: Vec<String> = held.iter().map(|l| l.name.clone()).collect();
    held_names.sort();
    assert_eq!(moved_names, held_names);
    assert!(
        moved
            .moved
            .iter()
            .all(|m| m.result.as_ref().unwrap().state() == v1::LeadState::Available)
    );

    // Back after her absence: referrals reach her again.
    cluster.env.clock.advance(Duration::days(3));
    let mut owners = Vec::new();
    for key in ["r3", "r4", "r5"] {
        let mut referral = leadpool_e2e::lead_request(key, 60);
        referral.source = "referral".to_owned();
        referral.region = "west".to_owned();
        owners.push(
            submit_request(&mut cluster.intake().await, referral)
                .await
                .lead
                .unwrap()
                .owner,
        );
    }
    assert!(owners.contains(&"reps/wendy".to_owned()), "{owners:?}");
    cluster.stop().await;
}

#[tokio::test]
async fn of_two_managers_assigning_one_lead_and_of_an_assignment_racing_a_claim_exactly_one_wins() {
    let cluster = start().await;
    let keys: Vec<String> = (0..12).map(|i| format!("esc-{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let escalated_leads = escalated(&cluster, &keys, "west").await;

    // Two managers, one lead each time, at once.
    let attempts = escalated_leads.iter().flat_map(|lead| {
        [("max", "wendy"), ("mo", "will")].map(|(by, to)| {
            let cluster = &cluster;
            let name = lead.name.clone();
            async move {
                let mut claim = cluster.claim().await;
                (
                    name.clone(),
                    assign(&mut claim, &manager(by), &name, to).await,
                )
            }
        })
    });
    let results = join_all(attempts).await;
    for lead in &escalated_leads {
        let outcomes: Vec<&Result<v1::Lead, tonic::Status>> = results
            .iter()
            .filter(|(name, _)| *name == lead.name)
            .map(|(_, r)| r)
            .collect();
        let wins = outcomes.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{}: {outcomes:?}", lead.name);
        let refused = outcomes.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(
            (refused.code(), reason_of(refused).as_str()),
            (Code::FailedPrecondition, "LEAD_NOT_AVAILABLE")
        );
    }

    // Available leads: max assigns to wendy while will claims, each lead at once.
    let mut available = Vec::new();
    for i in 0..12 {
        available.push(lead_in(&cluster, &format!("avail-{i}"), "west").await);
    }
    let races = available.iter().flat_map(|lead| {
        let name = lead.name.clone();
        let cluster = &cluster;
        [
            Box::pin(async move {
                let mut claim = cluster.claim().await;
                assign(&mut claim, &manager("max"), &name, "wendy")
                    .await
                    .map(|_| ())
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin({
                let name = lead.name.clone();
                async move {
                    let mut claim = cluster.claim().await;
                    claim
                        .claim_lead(authed(&rep("will"), v1::ClaimLeadRequest { name }))
                        .await
                        .map(|_| ())
                }
            }),
        ]
    });
    let outcomes = join_all(races).await;
    let wins = outcomes.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, available.len(), "one winner per lead: {outcomes:?}");

    // Whatever won, no lead ever has two owners, and the history has one taking per lead.
    let db = cluster.env.db.store();
    let takings: Vec<(String, i64)> = sqlx::query_as(
        "SELECT lead_id::text, count(*) FROM lead_events \
         WHERE kind IN ('lead.assigned', 'lead.claimed') GROUP BY lead_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(
        takings.iter().all(|(_, n)| *n == 1),
        "a lead was taken twice: {takings:?}"
    );
    assert_eq!(takings.len(), escalated_leads.len() + available.len());
    cluster.stop().await;
}

const ADA: &str = "ada.lovelace@analytical.example";

#[tokio::test]
async fn erasure_leaves_no_personal_data_anywhere_keeps_the_skeleton_and_the_metrics() {
    let cluster = start().await;
    // Merge duplicates, so a second submission of Ada is a merge record.
    let merging = TEAMS.to_owned() + "duplicates: { action: merge }\n";
    apply_policy(&mut cluster.routing().await, &merging).await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    let mut ada = leadpool_e2e::lead_request("form-ada", 70);
    ada.region = "west".to_owned();
    {
        let contact = ada.contact.as_mut().unwrap();
        contact.email = ADA.to_owned();
        contact.name = "Ada Lovelace".to_owned();
        contact.company = "Analytical Engines".to_owned();
        contact.phone = "+44 20 7946 0958".to_owned();
    }
    ada.attributes
        .insert("linkedin".to_owned(), "ada-lovelace".to_owned());
    let lead = submit_request(&mut intake, ada.clone()).await.lead.unwrap();
    let mut again = ada.clone();
    again.idempotency_key = "form-ada-2".to_owned();
    assert_eq!(
        submit_request(&mut intake, again).await.duplicate_of,
        lead.name,
        "merged into the lead"
    );
    // A malformed import row of hers is kept as rejected.
    let mut malformed = ada.clone();
    malformed.idempotency_key = "import-ada".to_owned();
    malformed.score = 500;
    intake
        .import_leads(authed(
            &admin(),
            tokio_stream::iter([v1::ImportLeadsRequest {
                import_id: "crm".to_owned(),
                rows: vec![v1::ImportRow {
                    row_number: 1,
                    lead: Some(malformed),
                }],
            }]),
        ))
        .await
        .unwrap();
    // Wendy works the lead and writes about Ada in its history.
    claim
        .claim_lead(authed(
            &rep("wendy"),
            v1::ClaimLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap();
    claim
        .record_contact(authed(
            &rep("wendy"),
            v1::RecordContactRequest {
                name: lead.name.clone(),
                note: format!("spoke to Ada Lovelace on +44 20 7946 0958, {ADA}"),
            },
        ))
        .await
        .unwrap();
    // Search finds her by a prefix of her email, name or company, in every order.
    for search in ["ada", "ada lovelace", "analytical"] {
        for order in [
            v1::LeadOrder::Priority,
            v1::LeadOrder::Age,
            v1::LeadOrder::Score,
        ] {
            let found = list(
                &mut claim,
                &admin(),
                v1::ListLeadsRequest {
                    search: search.to_owned(),
                    order_by: order as i32,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(
                found,
                std::slice::from_ref(&lead.name),
                "{search} by {order:?}"
            );
        }
    }
    let health_before = pool_health(&cluster).await;
    let history_before = history(&mut claim, &lead.name).await;

    let erased = cluster
        .intake()
        .await
        .erase_lead(authed(
            &admin(),
            v1::EraseLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(erased.erased);
    let tombstone = erased.lead.unwrap();
    assert_eq!(
        tombstone.contact.clone().unwrap_or_default(),
        v1::Contact::default()
    );
    assert!(tombstone.attributes.is_empty() && tombstone.erase_time.is_some());
    assert_eq!(
        (
            tombstone.state(),
            tombstone.pool.as_str(),
            tombstone.owner.as_str(),
            tombstone.score
        ),
        (v1::LeadState::Contacted, "pools/west", "reps/wendy", 70),
        "the skeleton stays"
    );

    // Lookup and search find no trace of her.
    let got = get(&mut claim, &admin(), &lead.name)
        .await
        .unwrap()
        .lead
        .unwrap();
    assert_eq!(got.contact.unwrap_or_default(), v1::Contact::default());
    for search in ["ada", "analytical", "lovelace"] {
        let found = list(
            &mut claim,
            &admin(),
            v1::ListLeadsRequest {
                search: search.to_owned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(found.is_empty(), "{search} still finds {found:?}");
    }
    // No table holds her data any more.
    let pool = cluster.env.db.store();
    for table in ["leads", "lead_events", "lead_merges", "rejected_rows"] {
        let (traces,): (i64,) = sqlx::query_as(&format!(
            "SELECT count(*) FROM {table} t WHERE t::text ILIKE '%lovelace%' \
             OR t::text ILIKE '%analytical%' OR t::text LIKE '%7946%'"
        ))
        .fetch_one(pool.pool())
        .await
        .unwrap();
        assert_eq!(traces, 0, "{table} still holds her data");
    }
    // The history keeps its skeleton, plus the erasure (who, when), without the data.
    let history_after = history(&mut claim, &lead.name).await;
    assert_eq!(history_after.len(), history_before.len() + 1);
    for (before, after) in history_before.iter().zip(&history_after) {
        assert_eq!(
            (
                before.from_state,
                before.to_state,
                &before.kind,
                &before.actor,
                &before.occur_time
            ),
            (
                after.from_state,
                after.to_state,
                &after.kind,
                &after.actor,
                &after.occur_time
            )
        );
    }
    let erasure = history_after.last().unwrap();
    assert_eq!(
        (
            erasure.kind.as_str(),
            erasure.actor.as_str(),
            erasure.reason.as_str()
        ),
        ("lead.erased", "users/ops", "")
    );
    // Pool metrics add up as before.
    assert_eq!(pool_health(&cluster).await, health_before);

    // Erasing again changes nothing.
    let again = cluster
        .intake()
        .await
        .erase_lead(authed(
            &admin(),
            v1::EraseLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.erased);
    assert_eq!(
        history(&mut claim, &lead.name).await.len(),
        history_after.len()
    );
    cluster.stop().await;
}

async fn history(claim: &mut ClaimServiceClient<Channel>, lead: &str) -> Vec<v1::LeadEvent> {
    claim
        .list_lead_events(authed(
            &admin(),
            v1::ListLeadEventsRequest {
                parent: lead.to_owned(),
                page_size: 100,
                page_token: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events
}

async fn pool_health(cluster: &Cluster) -> v1::PoolHealth {
    cluster
        .scheduler()
        .await
        .get_pool_health(authed(
            &admin(),
            v1::GetPoolHealthRequest {
                depletion_days: 0,
                name: "pools/west".to_owned(),
                as_of: Some(timestamp(cluster.env.clock.now())),
                time_zone: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Who calls: the matrix every new RPC is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// wendy, a west rep.
    Rep,
    /// max, west's manager.
    OwnManager,
    /// mona, east's manager.
    OtherManager,
    Admin,
    Service,
    NoToken,
}

const CALLERS: [Caller; 6] = [
    Caller::Rep,
    Caller::OwnManager,
    Caller::OtherManager,
    Caller::Admin,
    Caller::Service,
    Caller::NoToken,
];

fn as_caller<T>(caller: Caller, message: T) -> tonic::Request<T> {
    match caller {
        Caller::Rep => authed(&rep("wendy"), message),
        Caller::OwnManager => authed(&manager("max"), message),
        Caller::OtherManager => authed(&manager("mona"), message),
        Caller::Admin => authed(&admin(), message),
        Caller::Service => authed(&service(), message),
        Caller::NoToken => tonic::Request::new(message),
    }
}

#[tokio::test]
async fn every_new_call_answers_each_kind_of_caller_as_documented() {
    use Caller::{Admin, NoToken, OtherManager, OwnManager, Rep, Service};
    let cluster = start().await;
    let mut claim = cluster.claim().await;
    let mut routing = cluster.routing().await;
    let mut intake = cluster.intake().await;
    let ok = Code::Ok;
    let denied = Code::PermissionDenied;
    let anonymous = Code::Unauthenticated;

    // Leads will holds (one per caller, so successful calls do not use each other's up).
    let mut held = Vec::new();
    for i in 0..12 {
        let lead = lead_in(&cluster, &format!("held-{i}"), "west").await;
        claim
            .claim_lead(authed(
                &rep("will"),
                v1::ClaimLeadRequest {
                    name: lead.name.clone(),
                },
            ))
            .await
            .unwrap();
        held.push(lead.name);
    }
    let escalated_leads = escalated(&cluster, &["x0", "x1", "x2", "x3", "x4", "x5"], "west").await;
    let mut held = held.into_iter();
    let mut escalated_leads = escalated_leads.into_iter().map(|l| l.name);
    let now = cluster.env.clock.now();

    for caller in CALLERS {
        let expect = |rep, own, other, admin, service, none| match caller {
            Rep => rep,
            OwnManager => own,
            OtherManager => other,
            Admin => admin,
            Service => service,
            NoToken => none,
        };
        let lead = held.next().unwrap();
        let got = claim
            .get_lead(as_caller(caller, v1::GetLeadRequest { name: lead.clone() }))
            .await;
        assert_eq!(
            code_of(&got),
            expect(denied, ok, denied, ok, ok, anonymous),
            "GetLead {caller:?}"
        );

        let listed = claim
            .list_leads(as_caller(
                caller,
                v1::ListLeadsRequest {
                    team: "west".to_owned(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(
            code_of(&listed),
            expect(denied, ok, denied, ok, ok, anonymous),
            "ListLeads {caller:?}"
        );

        let assigned = claim
            .assign_lead(as_caller(
                caller,
                v1::AssignLeadRequest {
                    name: escalated_leads.next().unwrap(),
                    rep: "reps/will".to_owned(),
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(
            code_of(&assigned),
            expect(denied, ok, denied, ok, denied, anonymous),
            "AssignLead {caller:?}"
        );

        let reassigned = claim
            .reassign_leads(as_caller(
                caller,
                v1::ReassignLeadsRequest {
                    from_rep: "reps/will".to_owned(),
                    destination: Some(v1::reassign_leads_request::Destination::ToPools(true)),
                    reason: "check".to_owned(),
                    validate_only: true,
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(
            code_of(&reassigned),
            expect(denied, ok, denied, ok, denied, anonymous),
            "ReassignLeads {caller:?}"
        );

        let returned = claim
            .return_lead(as_caller(
                caller,
                v1::ReturnLeadRequest {
                    name: held.next().unwrap(),
                    reason: "check".to_owned(),
                },
            ))
            .await;
        assert_eq!(
            code_of(&returned),
            expect(denied, ok, denied, ok, denied, anonymous),
            "ReturnLead {caller:?}"
        );

        let availability = routing
            .set_rep_availability(as_caller(
                caller,
                v1::SetRepAvailabilityRequest {
                    rep: "reps/eric".to_owned(),
                    availability: Some(v1::set_rep_availability_request::Availability::Busy(
                        v1::Busy {
                            until_time: Some(timestamp(now + Duration::hours(1))),
                            note: String::new(),
                        },
                    )),
                },
            ))
            .await;
        // eric is east's: mona's, not max's.
        assert_eq!(
            code_of(&availability),
            expect(denied, denied, ok, ok, ok, anonymous),
            "SetRepAvailability {caller:?}"
        );

        let rep_read = routing
            .get_rep(as_caller(
                caller,
                v1::GetRepRequest {
                    name: "reps/eric".to_owned(),
                },
            ))
            .await;
        assert_eq!(
            code_of(&rep_read),
            expect(ok, ok, ok, ok, ok, anonymous),
            "GetRep {caller:?}"
        );

        let erased = intake
            .erase_lead(as_caller(
                caller,
                v1::EraseLeadRequest { name: lead.clone() },
            ))
            .await;
        assert_eq!(
            code_of(&erased),
            expect(denied, denied, denied, ok, denied, anonymous),
            "EraseLead {caller:?}"
        );
    }
    // A rep reads her own leads (and only hers).
    assert!(
        list(&mut claim, &rep("will"), v1::ListLeadsRequest::default())
            .await
            .is_ok()
    );
    cluster.stop().await;
}

#[tokio::test]
async fn lead_lists_page_in_order_and_a_token_serves_only_its_own_filters() {
    let cluster = start().await;
    let mut claim = cluster.claim().await;
    let mut intake = cluster.intake().await;
    let mut expected = Vec::new();
    for (i, score) in [30, 90, 60, 75, 45].into_iter().enumerate() {
        let mut request = leadpool_e2e::lead_request(&format!("page-{i}"), score);
        request.region = "west".to_owned();
        expected.push((
            score,
            submit_request(&mut intake, request)
                .await
                .lead
                .unwrap()
                .name,
        ));
        cluster.env.clock.advance(Duration::seconds(1));
    }
    expected.sort_by_key(|e| std::cmp::Reverse(e.0));
    let by_score = |page_token: String| v1::ListLeadsRequest {
        pool: "pools/west".into(),
        order_by: v1::LeadOrder::Score.into(),
        page_size: 2,
        page_token,
        ..Default::default()
    };
    let seen = all_pages(|token| {
        let mut claim = claim.clone();
        async move {
            let page = claim
                .list_leads(authed(&admin(), by_score(token)))
                .await
                .unwrap()
                .into_inner();
            assert!(page.leads.len() <= 2);
            (names_of(page.leads), page.next_page_token)
        }
    })
    .await;
    assert_eq!(
        seen,
        expected.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
    );
    // A token from one listing is refused by another.
    let first = claim
        .list_leads(authed(&admin(), by_score(String::new())))
        .await
        .unwrap()
        .into_inner();
    assert_invalid(
        claim
            .list_leads(authed(
                &admin(),
                v1::ListLeadsRequest {
                    pool: "pools/east".into(),
                    ..by_score(first.next_page_token)
                },
            ))
            .await,
        &["page_token"],
    );
    cluster.stop().await;
}

#[tokio::test]
async fn bad_input_to_every_new_call_names_each_problem_and_changes_nothing() {
    let cluster = start().await;
    let mut claim = cluster.claim().await;
    let mut routing = cluster.routing().await;
    let lead = lead_in(&cluster, "bad-1", "west").await;
    let unknown_lead = format!("leads/{}", uuid::Uuid::now_v7());

    assert_invalid(
        claim
            .get_lead(authed(
                &admin(),
                v1::GetLeadRequest {
                    name: "leads/x".into(),
                },
            ))
            .await,
        &["name"],
    );
    assert_eq!(
        claim
            .get_lead(authed(
                &admin(),
                v1::GetLeadRequest {
                    name: unknown_lead.clone()
                }
            ))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_invalid(
        claim
            .list_leads(authed(
                &admin(),
                v1::ListLeadsRequest {
                    states: vec![99],
                    pool: "west".into(),
                    owner: "reps/".into(),
                    team: "West Team".into(),
                    search: "a".into(),
                    page_size: -1,
                    ..Default::default()
                },
            ))
            .await,
        &["states[0]", "pool", "owner", "team", "search", "page_size"],
    );
    for search in ["x".repeat(101), "ad\u{0}a".to_owned(), "   ".to_owned()] {
        assert_invalid(
            claim
                .list_leads(authed(
                    &admin(),
                    v1::ListLeadsRequest {
                        search,
                        ..Default::default()
                    },
                ))
                .await,
            &["search"],
        );
    }
    assert_eq!(
        claim
            .list_leads(authed(
                &admin(),
                v1::ListLeadsRequest {
                    team: "nowhere".into(),
                    ..Default::default()
                }
            ))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_invalid(
        claim
            .assign_lead(authed(
                &admin(),
                v1::AssignLeadRequest {
                    name: String::new(),
                    rep: "alice".into(),
                    reason: "x".repeat(1001),
                    override_open_lead_cap: false,
                },
            ))
            .await,
        &["name", "rep", "reason"],
    );
    assert_invalid(
        claim
            .assign_lead(authed(
                &admin(),
                v1::AssignLeadRequest {
                    name: lead.name.clone(),
                    rep: "reps/will".into(),
                    reason: String::new(),
                    override_open_lead_cap: true,
                },
            ))
            .await,
        &["reason"],
    );
    let unknown_rep = claim
        .assign_lead(authed(
            &admin(),
            v1::AssignLeadRequest {
                name: lead.name.clone(),
                rep: "reps/nobody".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown_rep.code(), Code::NotFound);
    // An east rep may not work the west pool: refused with why, and the lead stays available.
    let ineligible = claim
        .assign_lead(authed(
            &admin(),
            v1::AssignLeadRequest {
                name: lead.name.clone(),
                rep: "reps/eric".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (ineligible.code(), reason_of(&ineligible).as_str()),
        (Code::FailedPrecondition, "REP_NOT_ELIGIBLE")
    );
    let unchanged = get(&mut claim, &admin(), &lead.name)
        .await
        .unwrap()
        .lead
        .unwrap();
    assert_eq!(
        (unchanged.state(), unchanged.owner.as_str()),
        (v1::LeadState::Available, "")
    );
    // Returning a lead nobody holds is refused by its state.
    let not_held = claim
        .return_lead(authed(
            &admin(),
            v1::ReturnLeadRequest {
                name: lead.name.clone(),
                reason: "x".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (not_held.code(), reason_of(&not_held).as_str()),
        (Code::FailedPrecondition, "LEAD_NOT_HELD")
    );
    assert_invalid(
        claim
            .return_lead(authed(
                &admin(),
                v1::ReturnLeadRequest {
                    name: lead.name.clone(),
                    reason: " ".into(),
                },
            ))
            .await,
        &["reason"],
    );
    assert_invalid(
        claim
            .reassign_leads(authed(
                &admin(),
                v1::ReassignLeadsRequest {
                    from_rep: "wendy".into(),
                    leads: vec!["leads/nope".into()],
                    destination: None,
                    reason: String::new(),
                    validate_only: false,
                },
            ))
            .await,
        &["from_rep", "leads[0]", "destination", "reason"],
    );
    assert_invalid(
        claim
            .reassign_leads(authed(
                &admin(),
                v1::ReassignLeadsRequest {
                    from_rep: "reps/wendy".into(),
                    destination: Some(v1::reassign_leads_request::Destination::ToRep(
                        "reps/wendy".into(),
                    )),
                    reason: "same".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["to_rep"],
    );
    let now = cluster.env.clock.now();
    use v1::set_rep_availability_request::Availability;
    assert_invalid(
        routing
            .set_rep_availability(authed(
                &admin(),
                v1::SetRepAvailabilityRequest {
                    rep: "wendy".into(),
                    availability: Some(Availability::OutOfOffice(v1::OutOfOffice {
                        from_time: Some(timestamp(now + Duration::days(2))),
                        until_time: Some(timestamp(now + Duration::days(1))),
                        note: "a note".into(),
                    })),
                },
            ))
            .await,
        &["rep", "out_of_office.until_time"],
    );
    // A control character is refused at the boundary, before the fields' meaning is read.
    assert_invalid(
        routing
            .set_rep_availability(authed(
                &admin(),
                v1::SetRepAvailabilityRequest {
                    rep: "wendy".into(),
                    availability: Some(Availability::OutOfOffice(v1::OutOfOffice {
                        from_time: None,
                        until_time: Some(timestamp(now + Duration::days(1))),
                        note: "a\u{7}".into(),
                    })),
                },
            ))
            .await,
        &["out_of_office.note"],
    );
    assert_invalid(
        routing
            .set_rep_availability(authed(
                &admin(),
                v1::SetRepAvailabilityRequest {
                    rep: "reps/wendy".into(),
                    availability: Some(Availability::Busy(v1::Busy {
                        until_time: Some(timestamp(now - Duration::minutes(1))),
                        note: String::new(),
                    })),
                },
            ))
            .await,
        &["busy.until_time"],
    );
    assert_invalid(
        routing
            .set_rep_availability(authed(
                &admin(),
                v1::SetRepAvailabilityRequest {
                    rep: "reps/wendy".into(),
                    availability: None,
                },
            ))
            .await,
        &["availability"],
    );
    assert_eq!(
        routing
            .set_rep_availability(authed(
                &admin(),
                v1::SetRepAvailabilityRequest {
                    rep: "reps/nobody".into(),
                    availability: Some(Availability::Available(v1::Available {})),
                },
            ))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_invalid(
        cluster
            .intake()
            .await
            .erase_lead(authed(
                &admin(),
                v1::EraseLeadRequest {
                    name: String::new(),
                },
            ))
            .await,
        &["name"],
    );
    assert_eq!(
        cluster
            .intake()
            .await
            .erase_lead(authed(
                &admin(),
                v1::EraseLeadRequest { name: unknown_lead }
            ))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // Nothing any refused call touched changed the lead's history.
    assert_eq!(
        history(&mut claim, &lead.name).await.len(),
        2,
        "received and routed only"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn caps_hold_for_assignments_and_reassignments_validate_only_says_exactly_what_would_move() {
    let cluster = Cluster::start().await;
    let capped = TEAMS.replace(
        "{ id: will, team: west, role: ae, regions: [west] }",
        "{ id: will, team: west, role: ae, regions: [west], limits: { activeLeads: 2 } }",
    );
    apply_policy(&mut cluster.routing().await, &capped).await;
    let mut claim = cluster.claim().await;
    let mut wendys = Vec::new();
    for i in 0..3 {
        let lead = lead_in(&cluster, &format!("w-{i}"), "west").await;
        claim
            .claim_lead(authed(
                &rep("wendy"),
                v1::ClaimLeadRequest {
                    name: lead.name.clone(),
                },
            ))
            .await
            .unwrap();
        wendys.push(lead.name);
    }
    let to_will = |validate_only| v1::ReassignLeadsRequest {
        from_rep: "reps/wendy".to_owned(),
        destination: Some(v1::reassign_leads_request::Destination::ToRep(
            "reps/will".to_owned(),
        )),
        reason: "rebalancing".to_owned(),
        validate_only,
        ..Default::default()
    };
    let preview = claim
        .reassign_leads(authed(&manager("max"), to_will(true)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((preview.moved.len(), preview.refused.len()), (2, 1));
    assert_eq!(preview.refused[0].reason, "ACTIVE_LEAD_LIMIT");
    assert!(
        preview
            .moved
            .iter()
            .all(|m| m.result.is_none() && m.to == "reps/will")
    );
    let still_hers = list(&mut claim, &rep("wendy"), v1::ListLeadsRequest::default())
        .await
        .unwrap();
    assert_eq!(still_hers.len(), 3, "validate_only moves nothing");

    let done = claim
        .reassign_leads(authed(&manager("max"), to_will(false)))
        .await
        .unwrap()
        .into_inner();
    let preview_moved: Vec<&String> = preview.moved.iter().map(|m| &m.lead).collect();
    let done_moved: Vec<&String> = done.moved.iter().map(|m| &m.lead).collect();
    assert_eq!(
        preview_moved, done_moved,
        "the preview said exactly what would move"
    );
    for moved in &done.moved {
        let lead = moved.result.as_ref().unwrap();
        assert_eq!(
            (lead.owner.as_str(), lead.state()),
            ("reps/will", v1::LeadState::Claimed)
        );
    }
    let history = history(&mut claim, &done.moved[0].lead).await;
    let last = history.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str(), last.owner.as_str()),
        ("lead.reassigned", "reps/max", "reps/will")
    );

    // will is at his cap: an assignment is refused, unless an admin overrides it with a reason.
    let extra = lead_in(&cluster, "extra", "west").await;
    let refused = assign(&mut claim, &manager("max"), &extra.name, "will")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason_of(&refused).as_str()),
        (Code::ResourceExhausted, "ACTIVE_LEAD_LIMIT")
    );
    let manager_override = claim
        .assign_lead(authed(
            &manager("max"),
            v1::AssignLeadRequest {
                name: extra.name.clone(),
                rep: "reps/will".to_owned(),
                reason: "urgent".to_owned(),
                override_open_lead_cap: true,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(manager_override.code(), Code::PermissionDenied);
    let overridden = claim
        .assign_lead(authed(
            &admin(),
            v1::AssignLeadRequest {
                name: extra.name.clone(),
                rep: "reps/will".to_owned(),
                reason: "key account, will knows them".to_owned(),
                override_open_lead_cap: true,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(overridden.owner, "reps/will");
    cluster.stop().await;
}

#[tokio::test]
async fn forced_and_no_choice_assignments_cannot_be_rejected_and_do_not_count_against_acceptance() {
    let cluster = Cluster::start().await;
    let policy = TEAMS.to_owned()
        + "acceptance: { minimum: 80, window: 30d, minDecisions: 1, consequence: lose-pool-access }\n";
    apply_policy(&mut cluster.routing().await, &policy).await;
    let mut claim = cluster.claim().await;
    let old = lead_in(&cluster, "old", "west").await;
    cluster.env.clock.advance(Duration::hours(73));
    run_job(&cluster, "forced-assignment", cluster.env.clock.now()).await;
    let forced = get(&mut claim, &admin(), &old.name)
        .await
        .unwrap()
        .lead
        .unwrap();
    assert_eq!(forced.assignment(), v1::AssignmentKind::Forced);
    assert!(!forced.rejectable);
    let owner = forced.owner.strip_prefix("reps/").unwrap().to_owned();
    let rejected = claim
        .reject_assignment(authed(
            &rep(&owner),
            v1::RejectAssignmentRequest {
                name: old.name.clone(),
                reason: "not mine".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (rejected.code(), reason_of(&rejected).as_str()),
        (Code::FailedPrecondition, "ASSIGNMENT_NOT_REJECTABLE")
    );
    // She lets it expire: it goes back, and her acceptance is untouched.
    cluster.env.clock.advance(Duration::hours(3));
    run_job(&cluster, "sla-expiry", cluster.env.clock.now()).await;
    let status = claim
        .get_rep_status(authed(&rep(&owner), v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let acceptance = status.acceptance.unwrap();
    assert_eq!((acceptance.decided, acceptance.below_minimum), (0, false));

    // With rejectable manual assignments, a manager's assignment may be turned down, and counts.
    let choice = policy.clone() + "manualAssignment: { rejectable: true }\n";
    apply_policy(&mut cluster.routing().await, &choice).await;
    let lead = lead_in(&cluster, "choice", "west").await;
    let assigned = assign(&mut claim, &manager("max"), &lead.name, "wendy")
        .await
        .unwrap();
    assert!(assigned.rejectable);
    claim
        .reject_assignment(authed(
            &rep("wendy"),
            v1::RejectAssignmentRequest {
                name: lead.name.clone(),
                reason: "busy".into(),
            },
        ))
        .await
        .unwrap();
    let status = claim
        .get_rep_status(authed(&rep("wendy"), v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let acceptance = status.acceptance.unwrap();
    assert_eq!((acceptance.accepted, acceptance.decided), (0, 1));
    cluster.stop().await;
}

async fn reject(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    lead: &str,
) -> Result<v1::Lead, tonic::Status> {
    claim
        .reject_assignment(authed(
            who,
            v1::RejectAssignmentRequest {
                name: lead.to_owned(),
                reason: "not for me".into(),
            },
        ))
        .await
        .map(|r| r.into_inner().lead.expect("lead"))
}

async fn reassign_all(
    claim: &mut ClaimServiceClient<Channel>,
    from: &str,
    to: &str,
) -> Vec<v1::Lead> {
    claim
        .reassign_leads(authed(
            &manager("max"),
            v1::ReassignLeadsRequest {
                from_rep: format!("reps/{from}"),
                destination: Some(v1::reassign_leads_request::Destination::ToRep(format!(
                    "reps/{to}"
                ))),
                reason: "rebalancing".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .moved
        .into_iter()
        .map(|m| m.result.expect("moved"))
        .collect()
}

/// Issue 19.3: the new rep did not claim what a manager moved to her — claimed, contacted or
/// assigned, each reaches her as a manager's assignment (MANUAL), rejectable as the policy
/// says, until she accepts or contacts it.
#[tokio::test]
async fn a_reassigned_lead_reaches_its_new_rep_as_a_managers_assignment() {
    let cluster = Cluster::start().await;
    let choice = TEAMS.to_owned() + "manualAssignment: { rejectable: true }\n";
    apply_policy(&mut cluster.routing().await, &choice).await;
    let mut claim = cluster.claim().await;
    let (claimed, contacted, assigned) = (
        lead_in(&cluster, "claimed", "west").await.name,
        lead_in(&cluster, "contacted", "west").await.name,
        lead_in(&cluster, "assigned", "west").await.name,
    );
    for name in [&claimed, &contacted] {
        claim
            .claim_lead(authed(
                &rep("wendy"),
                v1::ClaimLeadRequest { name: name.clone() },
            ))
            .await
            .unwrap();
    }
    claim
        .record_contact(authed(
            &rep("wendy"),
            v1::RecordContactRequest {
                name: contacted.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assign(&mut claim, &manager("max"), &assigned, "wendy")
        .await
        .unwrap();
    // Her own claim is not an assignment: nothing to turn down.
    let own = get(&mut claim, &rep("wendy"), &claimed)
        .await
        .unwrap()
        .lead
        .unwrap();
    assert_eq!(
        (own.assignment(), own.rejectable),
        (v1::AssignmentKind::Unspecified, false)
    );
    let refused = reject(&mut claim, &rep("wendy"), &claimed)
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason_of(&refused).as_str()),
        (Code::FailedPrecondition, "ASSIGNMENT_NOT_REJECTABLE")
    );

    let moved = reassign_all(&mut claim, "wendy", "will").await;
    assert_eq!(moved.len(), 3);
    for lead in &moved {
        assert_eq!(
            (lead.owner.as_str(), lead.assignment(), lead.rejectable),
            ("reps/will", v1::AssignmentKind::Manual, true),
            "{} ({:?})",
            lead.name,
            lead.state()
        );
    }
    let state_of = |name: &str| moved.iter().find(|l| l.name == name).unwrap().state();
    assert_eq!(
        (
            state_of(&claimed),
            state_of(&contacted),
            state_of(&assigned)
        ),
        (
            v1::LeadState::Claimed,
            v1::LeadState::Contacted,
            v1::LeadState::Assigned
        ),
        "each keeps its state"
    );
    // He turns the claimed one down: back to the pool, nobody's to reject any more.
    let back = reject(&mut claim, &rep("will"), &claimed).await.unwrap();
    assert_eq!(
        (back.state(), back.owner.as_str(), back.rejectable),
        (v1::LeadState::Available, "", false)
    );
    // Accepting the assigned one is his decision: it is his like a claim from then on.
    let accepted = claim
        .accept_assignment(authed(
            &rep("will"),
            v1::AcceptAssignmentRequest {
                name: assigned.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(
        (accepted.assignment(), accepted.rejectable),
        (v1::AssignmentKind::Manual, false)
    );
    let refused = reject(&mut claim, &rep("will"), &assigned)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&refused), "ASSIGNMENT_NOT_REJECTABLE");

    // With the policy's default (no choice), a reassignment leaves none.
    apply_policy(&mut cluster.routing().await, TEAMS).await;
    let moved = reassign_all(&mut claim, "will", "wendy").await;
    assert_eq!(moved.len(), 2);
    assert!(
        moved
            .iter()
            .all(|l| l.assignment() == v1::AssignmentKind::Manual && !l.rejectable)
    );
    let refused = reject(&mut claim, &rep("wendy"), &contacted)
        .await
        .unwrap_err();
    assert_eq!(reason_of(&refused), "ASSIGNMENT_NOT_REJECTABLE");
    cluster.stop().await;
}
