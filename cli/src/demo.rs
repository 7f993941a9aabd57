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
    output::pools(&conn.list_pool_health().await?)?;

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
    Ok(())
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
