//! `leadpoolctl demo`: applies a policy, submits a few leads, and shows a rep browsing, claiming
//! and working one — and why other leads and reps went where they did. Safe to run again: the
//! policy apply and the submissions are idempotent.

#![allow(clippy::print_stdout)]

use std::path::Path;

use leadpool_auth::Role;
use leadpool_proto::v1;
use tonic::Code;

use crate::client::Connection;
use crate::{commands, output};

/// (key, email, score, region, source)
const LEADS: [(&str, &str, i32, &str, &str); 8] = [
    (
        "p2-demo-1",
        "grace@hopper.example",
        92,
        "west",
        "demo-request",
    ),
    (
        "p2-demo-2",
        "alan@turing.example",
        85,
        "west",
        "demo-request",
    ),
    ("p2-demo-3", "ada@lovelace.example", 67, "east", "mql"),
    (
        "p2-demo-4",
        "edsger@dijkstra.example",
        55,
        "emea",
        "outbound-reply",
    ),
    (
        "p2-demo-5",
        "barbara@liskov.example",
        48,
        "west",
        "content-download",
    ),
    ("p2-demo-6", "donald@knuth.example", 33, "east", "webinar"),
    ("p2-demo-7", "spam@mailinator.com", 70, "west", "mql"),
    ("p2-demo-8", "grace@hopper.example", 60, "west", "event"),
];

pub async fn run(conn: &Connection, policy: &Path) -> anyhow::Result<()> {
    if let Some(why) = not_the_demos(conn, policy).await? {
        println!(
            "the demo was skipped: {why}. The demo never replaces a policy of yours; the \
             services are up with what the database holds. `make reset` empties the development \
             database (and Redis' leadpool: keys), so the next `make up` loads the demo again."
        );
        return Ok(());
    }
    println!("applying {}:", policy.display());
    commands::apply(conn, policy, false, None).await?;

    let forms = conn.token_for("services/web-forms", &[Role::Service])?;
    let wendy = conn.token_for("reps/wendy", &[Role::Rep])?;

    println!("\nsubmitting {} leads through intake:", LEADS.len());
    let mut intake = conn.intake().await?;
    for (key, email, score, region, source) in LEADS {
        let request = v1::SubmitLeadRequest {
            idempotency_key: key.to_owned(),
            contact: Some(v1::Contact {
                email: email.to_owned(),
                ..v1::Contact::default()
            }),
            score,
            region: region.to_owned(),
            source: source.to_owned(),
            ..v1::SubmitLeadRequest::default()
        };
        let lead = intake
            .submit_lead(conn.request(&forms, request)?)
            .await?
            .into_inner()
            .lead
            .unwrap_or_default();
        let placed = if lead.pool.is_empty() {
            lead.rejection_reason.clone()
        } else {
            lead.pool.clone()
        };
        println!(
            "  {key:<10} {source:<16} {region:<5} -> {:<10} {placed}",
            state_name(lead.state())
        );
    }

    println!();
    output::pools(&scheduler_sees_policy(conn).await?)?;

    let mut claim = conn.claim().await?;
    println!("\nwendy (AE, West) browses the demo-request pool:");
    let browse = claim
        .list_pool_leads(conn.request(
            &wendy,
            v1::ListPoolLeadsRequest {
                parent: "pools/demo-requests".to_owned(),
                order_by: v1::LeadOrder::Priority.into(),
                page_size: 10,
                page_token: String::new(),
            },
        )?)
        .await?
        .into_inner();
    for lead in &browse.leads {
        println!("  {}  score {}  {}", lead.name, lead.score, email(lead));
    }

    println!("\nwendy claims the next lead:");
    let claimed = claim
        .claim_next(conn.request(
            &wendy,
            v1::ClaimNextRequest {
                pool: "pools/demo-requests".to_owned(),
            },
        )?)
        .await;
    match claimed {
        Ok(response) => {
            let lead = response.into_inner().lead.unwrap_or_default();
            output::claimed(&lead);
            claim
                .record_contact(conn.request(
                    &wendy,
                    v1::RecordContactRequest {
                        name: lead.name.clone(),
                        note: "called, booked a demo".to_owned(),
                    },
                )?)
                .await?;
            println!("she calls and records the contact; the lead's history:");
            let events = claim
                .list_lead_events(conn.request(
                    &wendy,
                    v1::ListLeadEventsRequest {
                        parent: lead.name,
                        page_size: 100,
                        page_token: String::new(),
                    },
                )?)
                .await?
                .into_inner()
                .events;
            for event in events {
                println!(
                    "  {:<10} -> {:<10} by {:<20} {}",
                    state_name(event.from_state()),
                    state_name(event.to_state()),
                    event.actor,
                    event.reason
                );
            }
        }
        Err(status) if status.code() == Code::FailedPrecondition => {
            println!("  the pool is empty (the demo ran before); nothing left to claim");
        }
        Err(status) => return Err(status.into()),
    }

    println!("\nwhy would a 75-point MQL from the East go where it goes?");
    let sketch = v1::LeadSketch {
        score: 75,
        region: "east".into(),
        source: "mql".into(),
        ..Default::default()
    };
    commands::explain_route(conn, None, sketch).await?;
    println!("\nmay sam (SDR, West) claim from the demo-request pool?");
    let ops = conn.token_for("users/demo", &[Role::Admin])?;
    let explained = claim
        .explain_access(conn.request(
            &ops,
            v1::ExplainAccessRequest {
                rep: "reps/sam".into(),
                pool: "pools/demo-requests".into(),
                at: None,
            },
        )?)
        .await?
        .into_inner();
    output::access(&explained);

    println!("\nwhere wendy stands (leadpoolctl status):");
    let status = claim
        .get_rep_status(conn.request(&wendy, v1::GetRepStatusRequest::default())?)
        .await?
        .into_inner();
    output::rep_status(&status);

    escalation_queue(conn, &ops).await?;
    what_platforms_heard(conn, &ops).await
}

/// Why this deployment is not the demo's to load into — another policy is in force — or `None`
/// when nothing was applied yet or the demo's own policy is in force (a second `make up`).
async fn not_the_demos(conn: &Connection, policy: &Path) -> anyhow::Result<Option<String>> {
    let document = std::fs::read_to_string(policy)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", policy.display()))?;
    let mut routing = conn.routing().await?;
    let current = routing
        .get_policy(conn.request(&conn.token()?, v1::GetPolicyRequest { version: 0 })?)
        .await?
        .into_inner()
        .policy
        .unwrap_or_default();
    if current.version == 0 {
        return Ok(None);
    }
    // The demo's own policy, applied before, changes nothing.
    let dry_run = routing
        .apply_policy(conn.request(
            &conn.token()?,
            v1::ApplyPolicyRequest {
                document,
                validate_only: true,
                expected_version: 0,
            },
        )?)
        .await;
    match dry_run {
        Ok(answer) if answer.get_ref().changes.is_empty() => Ok(None),
        Ok(_) => Ok(Some(format!(
            "policy `{}` (version {}, applied by {}) is in force, not the demo's",
            current.display_name, current.version, current.applied_by
        ))),
        Err(status) if status.code() == Code::FailedPrecondition => Ok(Some(format!(
            "policy `{}` (version {}, applied by {}) is in force, not the demo's ({})",
            current.display_name,
            current.version,
            current.applied_by,
            status.message()
        ))),
        Err(status) => Err(status.into()),
    }
}

/// Every change above is an event platforms can follow (WatchEvents, webhooks): the latest.
async fn what_platforms_heard(conn: &Connection, ops: &str) -> anyhow::Result<()> {
    const SHOWN: usize = 12;
    // An event is readable once the epoch holding it closes (every 100 ms).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut events = conn.events().await?;
    let mut request = v1::ListEventsRequest {
        page_size: 1000,
        ..Default::default()
    };
    let mut latest = std::collections::VecDeque::with_capacity(SHOWN);
    loop {
        let page = events
            .list_events(conn.request(ops, request.clone())?)
            .await?
            .into_inner();
        let caught_up = page.events.len() < 1000;
        for event in page.events {
            if latest.len() == SHOWN {
                latest.pop_front();
            }
            latest.push_back(event);
        }
        request.after = page.next_cursor;
        if caught_up {
            break;
        }
    }
    println!(
        "
what platforms heard — the latest {SHOWN} events of the stream (leadpoolctl events watch \
         tails it; leadpoolctl webhooks create --url … pushes it, signed):"
    );
    output::event_header();
    latest.iter().for_each(output::event);
    Ok(())
}

/// S3: leads unclaimed for 48 hours escalate to a manager, who assigns them by hand. Jobs run
/// as of any time, so the demo asks the scheduler to age the pools as of two days from now.
async fn escalation_queue(conn: &Connection, ops: &str) -> anyhow::Result<()> {
    let as_of = chrono::Utc::now() + chrono::Duration::hours(49);
    println!(
        "\ntwo days on: the scheduler ages the pools as of {} (RunJob jobs/aging):",
        as_of.format("%Y-%m-%d %H:%M UTC")
    );
    let aged = conn
        .scheduler()
        .await?
        .run_job(conn.request(
            ops,
            v1::RunJobRequest {
                name: "jobs/aging".into(),
                as_of: Some(prost_types::Timestamp {
                    seconds: as_of.timestamp(),
                    nanos: 0,
                }),
            },
        )?)
        .await?
        .into_inner();
    println!("  {} leads changed", aged.affected);
    let max = conn.token_for("reps/max", &[Role::Manager])?;
    let mut claim = conn.claim().await?;
    println!(
        "\nmax (manager, national accounts) opens his escalation queue (leadpoolctl leads --state escalated):"
    );
    let queue = claim
        .list_leads(conn.request(
            &max,
            v1::ListLeadsRequest {
                states: vec![v1::LeadState::Escalated.into()],
                page_size: 10,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner()
        .leads;
    output::leads(&queue);
    let Some(first) = queue.first() else {
        println!("  nothing escalated (the demo ran before)");
        return Ok(());
    };
    println!("\nmax assigns {} to nora (leadpoolctl assign):", first.name);
    let assigned = claim
        .assign_lead(conn.request(
            &max,
            v1::AssignLeadRequest {
                name: first.name.clone(),
                rep: "reps/nora".into(),
                reason: "national account, nora knows them".into(),
                override_open_lead_cap: false,
            },
        )?)
        .await;
    match assigned {
        Ok(_) => {
            let nora = conn.token_for("reps/nora", &[Role::Rep])?;
            let found = claim
                .get_lead(conn.request(
                    &nora,
                    v1::GetLeadRequest {
                        name: first.name.clone(),
                    },
                )?)
                .await?
                .into_inner();
            println!("nora looks it up (leadpoolctl lead get):");
            output::lead(&found);
        }
        Err(status) => println!("  refused: {}", status.message()),
    }
    Ok(())
}

/// The pool health table, once the scheduler follows the policy just applied: it checks for a
/// new version every `scheduler.policy_refresh` (5 s by default).
async fn scheduler_sees_policy(conn: &Connection) -> anyhow::Result<Vec<v1::PoolHealth>> {
    for _ in 0..50 {
        let pools = conn.list_pool_health().await?;
        if !pools.is_empty() {
            return Ok(pools);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    conn.list_pool_health().await
}

fn state_name(state: v1::LeadState) -> String {
    match state {
        v1::LeadState::Unspecified => "(new)".to_owned(),
        other => other
            .as_str_name()
            .trim_start_matches("LEAD_STATE_")
            .to_lowercase(),
    }
}

fn email(lead: &v1::Lead) -> &str {
    lead.contact.as_ref().map_or("", |c| c.email.as_str())
}
