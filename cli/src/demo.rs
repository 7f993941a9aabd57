//! `leadpoolctl demo`: a small pool setup, a few leads, and a rep claiming and working one.
//! Safe to run again: pools and reps that exist are kept, leads are submitted idempotently.

#![allow(clippy::print_stdout)]

use leadpool_auth::Role;
use leadpool_proto::v1;
use tonic::Code;

use crate::client::Connection;
use crate::output;

const POOLS: [(&str, &str, i32); 3] = [
    ("hot", "Hot leads (80+)", 80),
    ("warm", "Warm leads (50-79)", 50),
    ("cold", "Cold leads (<50)", 0),
];

const LEADS: [(&str, &str, i32, &str); 8] = [
    ("demo-1", "grace@hopper.example", 92, "demo-request"),
    ("demo-2", "alan@turing.example", 85, "referral"),
    ("demo-3", "ada@lovelace.example", 67, "mql"),
    ("demo-4", "edsger@dijkstra.example", 55, "event"),
    ("demo-5", "barbara@liskov.example", 48, "content-download"),
    ("demo-6", "donald@knuth.example", 33, "outbound-reply"),
    ("demo-7", "margaret@hamilton.example", 74, "mql"),
    ("demo-8", "spam@nowhere.example", 5, "content-download"),
];

pub async fn run(conn: &Connection) -> anyhow::Result<()> {
    let admin = conn.token_for("users/demo-admin", &[Role::Admin])?;
    let forms = conn.token_for("services/web-forms", &[Role::Service])?;
    let alice = conn.token_for("reps/alice", &[Role::Rep])?;

    let mut routing = conn.routing().await?;
    for (id, display_name, min_score) in POOLS {
        let created = routing
            .create_pool(conn.request(
                &admin,
                v1::CreatePoolRequest {
                    pool_id: id.to_owned(),
                    display_name: display_name.to_owned(),
                    kind: v1::PoolKind::Tiered.into(),
                    contact_sla: None,
                    min_score,
                },
            )?)
            .await;
        match created {
            Ok(_) => println!("created pool {id} (scores from {min_score})"),
            Err(status) if status.code() == Code::AlreadyExists => println!("pool {id} exists"),
            Err(status) => return Err(status.into()),
        }
    }
    for (id, role) in [("alice", v1::RepRole::Ae), ("bob", v1::RepRole::Sdr)] {
        routing
            .upsert_rep(conn.request(
                &admin,
                v1::UpsertRepRequest {
                    rep: Some(v1::Rep {
                        name: format!("reps/{id}"),
                        display_name: id.to_owned(),
                        team: "emea".to_owned(),
                        role: role.into(),
                        active: true,
                        daily_claim_limit: 0,
                    }),
                },
            )?)
            .await?;
        println!("registered rep {id}");
    }

    println!("\nsubmitting {} leads through intake:", LEADS.len());
    let mut intake = conn.intake().await?;
    for (key, email, score, source) in LEADS {
        let lead = intake
            .submit_lead(conn.request(
                &forms,
                v1::SubmitLeadRequest {
                    idempotency_key: key.to_owned(),
                    contact: Some(v1::Contact {
                        email: email.to_owned(),
                        ..v1::Contact::default()
                    }),
                    score,
                    source: source.to_owned(),
                    ..v1::SubmitLeadRequest::default()
                },
            )?)
            .await?
            .into_inner()
            .lead
            .unwrap_or_default();
        let placed = if lead.pool.is_empty() {
            format!("not pooled: {}", lead.rejection_reason)
        } else {
            lead.pool.clone()
        };
        println!(
            "  {key:<7} score {score:>3} -> {:<10} {placed}",
            state_name(lead.state())
        );
    }

    println!();
    output::pools(&conn.list_pools().await?)?;

    let mut claim = conn.claim().await?;
    println!("\nalice browses the hot pool:");
    let browse = claim
        .list_pool_leads(conn.request(
            &alice,
            v1::ListPoolLeadsRequest {
                parent: "pools/hot".to_owned(),
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

    println!("\nalice claims the next lead from the hot pool:");
    let claimed = claim
        .claim_next(conn.request(
            &alice,
            v1::ClaimNextRequest {
                pool: "pools/hot".to_owned(),
            },
        )?)
        .await;
    let lead = match claimed {
        Ok(response) => response.into_inner().lead.unwrap_or_default(),
        Err(status) if status.code() == Code::FailedPrecondition => {
            println!("  the hot pool is empty (the demo ran before); nothing left to claim");
            return Ok(());
        }
        Err(status) => return Err(status.into()),
    };
    let due = lead
        .contact_due_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%H:%M:%S UTC").to_string())
        .unwrap_or_default();
    println!(
        "  {} ({}) is hers; contact it by {due}",
        lead.name,
        email(&lead)
    );

    claim
        .record_contact(conn.request(
            &alice,
            v1::RecordContactRequest {
                name: lead.name.clone(),
                note: "called, booked a demo".to_owned(),
            },
        )?)
        .await?;
    println!("  she calls and records the contact");

    println!("\nthe lead's history:");
    let events = claim
        .list_lead_events(conn.request(
            &alice,
            v1::ListLeadEventsRequest {
                parent: lead.name.clone(),
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
