//! The commands around the pool: look leads up and search them, assign, reassign and return
//! leads, set a rep's availability, erase a lead. Managers run them as themselves
//! (`--as reps/max --role manager`), admins without `--as`.

#![allow(clippy::print_stdout)]

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use leadpool_proto::v1;

use crate::client::Connection;
use crate::commands::with_collection;
use crate::output;

#[derive(Args)]
pub struct AuditArgs {
    /// Only actions by this caller: users/ops, reps/max.
    #[arg(long)]
    actor: Option<String>,
    /// Only this action: policy.apply, pool.create, rep.upsert, rep.availability, lead.assign,
    /// leads.reassign, lead.return, lead.erase, job.run.
    #[arg(long)]
    action: Option<String>,
    /// Only actions on this resource: pools/west, leads/…, policy.
    #[arg(long)]
    target: Option<String>,
    /// From this RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// `leadpoolctl audit`: pages through the log until `limit` records.
pub async fn audit(conn: &Connection, args: AuditArgs) -> anyhow::Result<()> {
    let mut request = v1::ListAuditRecordsRequest {
        actor: args.actor.unwrap_or_default(),
        action: args.action.unwrap_or_default(),
        target: args.target.unwrap_or_default(),
        since_time: args.since.map(|t| timestamp("since", &t)).transpose()?,
        until_time: args.until.map(|t| timestamp("until", &t)).transpose()?,
        page_size: i32::try_from(args.limit.min(1000)).unwrap_or(1000),
        page_token: String::new(),
    };
    let mut client = conn.routing().await?;
    let token = conn.token()?;
    let mut records = Vec::new();
    loop {
        let page = client
            .list_audit_records(conn.request(&token, request.clone())?)
            .await?
            .into_inner();
        records.extend(page.records);
        if page.next_page_token.is_empty() || records.len() >= args.limit {
            break;
        }
        request.page_token = page.next_page_token;
    }
    records.truncate(args.limit);
    output::audit(&records)
}

#[derive(Args)]
pub struct LeadsArgs {
    /// Only leads in this state (repeatable): received, available, claimed, assigned,
    /// contacted, closed, escalated, scheduled, nurture, archived, rejected.
    #[arg(long = "state")]
    states: Vec<String>,
    #[arg(long)]
    pool: Option<String>,
    /// Leads this rep holds.
    #[arg(long)]
    owner: Option<String>,
    /// Leads in the pools the team works, or held by its reps.
    #[arg(long)]
    team: Option<String>,
    /// A case-insensitive prefix of the email, contact name, company or company domain.
    #[arg(long)]
    search: Option<String>,
    /// Received at or after (RFC 3339).
    #[arg(long)]
    after: Option<String>,
    /// Received before (RFC 3339).
    #[arg(long)]
    before: Option<String>,
    #[arg(long, value_enum, default_value = "priority")]
    order: Order,
    /// At most this many leads (the first pages).
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Order {
    Priority,
    Age,
    Score,
}

#[derive(Subcommand)]
pub enum AvailabilityCommand {
    /// Out of office (--out-of-office --until …), busy (--busy --until …) or --available.
    Set {
        rep: String,
        #[arg(long, conflicts_with_all = ["busy", "available"])]
        out_of_office: bool,
        #[arg(long, conflicts_with = "available")]
        busy: bool,
        #[arg(long)]
        available: bool,
        /// Out of office from (RFC 3339; default now).
        #[arg(long)]
        from: Option<String>,
        /// Until when (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Whether a rep is away now, and why.
    Get { rep: String },
}

pub fn timestamp(flag: &str, text: &str) -> anyhow::Result<prost_types::Timestamp> {
    let at = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
        format!("--{flag} `{text}` is not an RFC 3339 time such as 2026-03-02T09:00:00+01:00")
    })?;
    Ok(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    })
}

fn state(name: &str) -> anyhow::Result<i32> {
    v1::LeadState::from_str_name(&format!("LEAD_STATE_{}", name.to_uppercase()))
        .filter(|s| *s != v1::LeadState::Unspecified)
        .map(Into::into)
        .with_context(|| format!("`{name}` is not a lead state"))
}

pub async fn leads(conn: &Connection, args: LeadsArgs) -> anyhow::Result<()> {
    let mut request = v1::ListLeadsRequest {
        states: args
            .states
            .iter()
            .map(|s| state(s))
            .collect::<anyhow::Result<_>>()?,
        pool: args
            .pool
            .map(|p| with_collection("pools", &p))
            .unwrap_or_default(),
        owner: args
            .owner
            .map(|r| with_collection("reps", &r))
            .unwrap_or_default(),
        team: args.team.unwrap_or_default(),
        search: args.search.unwrap_or_default(),
        received_after: args.after.map(|t| timestamp("after", &t)).transpose()?,
        received_before: args.before.map(|t| timestamp("before", &t)).transpose()?,
        order_by: match args.order {
            Order::Priority => v1::LeadOrder::Priority,
            Order::Age => v1::LeadOrder::Age,
            Order::Score => v1::LeadOrder::Score,
        }
        .into(),
        page_size: i32::try_from(args.limit.min(500)).unwrap_or(500),
        page_token: String::new(),
    };
    let mut client = conn.claim().await?;
    let token = conn.token()?;
    let mut leads = Vec::new();
    loop {
        let page = client
            .list_leads(conn.request(&token, request.clone())?)
            .await?
            .into_inner();
        leads.extend(page.leads);
        if page.next_page_token.is_empty() || leads.len() >= args.limit {
            break;
        }
        request.page_token = page.next_page_token;
    }
    leads.truncate(args.limit);
    output::leads(&leads);
    Ok(())
}

pub async fn get_lead(conn: &Connection, lead: &str) -> anyhow::Result<()> {
    let found = conn
        .claim()
        .await?
        .get_lead(conn.request(
            &conn.token()?,
            v1::GetLeadRequest {
                name: with_collection("leads", lead),
            },
        )?)
        .await?
        .into_inner();
    output::lead(&found);
    Ok(())
}

pub async fn assign(
    conn: &Connection,
    lead: &str,
    rep: &str,
    reason: String,
    override_cap: bool,
) -> anyhow::Result<()> {
    let lead = conn
        .claim()
        .await?
        .assign_lead(conn.request(
            &conn.token()?,
            v1::AssignLeadRequest {
                name: with_collection("leads", lead),
                rep: with_collection("reps", rep),
                reason,
                override_open_lead_cap: override_cap,
            },
        )?)
        .await?
        .into_inner()
        .lead
        .unwrap_or_default();
    println!("assigned {} to {}", lead.name, lead.owner);
    output::deadline(&lead);
    Ok(())
}

pub async fn reassign(
    conn: &Connection,
    from: &str,
    to: Option<&str>,
    leads: &[String],
    reason: String,
    dry_run: bool,
) -> anyhow::Result<()> {
    use v1::reassign_leads_request::Destination;
    let destination = match to {
        Some(rep) => Destination::ToRep(with_collection("reps", rep)),
        None => Destination::ToPools(true),
    };
    let report = conn
        .claim()
        .await?
        .reassign_leads(conn.request(
            &conn.token()?,
            v1::ReassignLeadsRequest {
                from_rep: with_collection("reps", from),
                leads: leads.iter().map(|l| with_collection("leads", l)).collect(),
                destination: Some(destination),
                reason,
                validate_only: dry_run,
            },
        )?)
        .await?
        .into_inner();
    output::reassigned(&report, dry_run);
    Ok(())
}

pub async fn return_lead(conn: &Connection, lead: &str, reason: String) -> anyhow::Result<()> {
    let lead = conn
        .claim()
        .await?
        .return_lead(conn.request(
            &conn.token()?,
            v1::ReturnLeadRequest {
                name: with_collection("leads", lead),
                reason,
            },
        )?)
        .await?
        .into_inner()
        .lead
        .unwrap_or_default();
    println!(
        "returned {} to {}",
        lead.name,
        if lead.pool.is_empty() {
            "routing"
        } else {
            &lead.pool
        }
    );
    Ok(())
}

pub async fn availability(conn: &Connection, command: AvailabilityCommand) -> anyhow::Result<()> {
    use v1::set_rep_availability_request::Availability;
    let mut routing = conn.routing().await?;
    let token = conn.token()?;
    let rep = match command {
        AvailabilityCommand::Get { rep } => {
            routing
                .get_rep(conn.request(
                    &token,
                    v1::GetRepRequest {
                        name: with_collection("reps", &rep),
                    },
                )?)
                .await?
                .into_inner()
                .rep
        }
        AvailabilityCommand::Set {
            rep,
            out_of_office,
            busy,
            available,
            from,
            until,
            note,
        } => {
            let until = until.map(|t| timestamp("until", &t)).transpose()?;
            let availability = if available {
                Availability::Available(v1::Available {})
            } else if busy {
                Availability::Busy(v1::Busy {
                    until_time: until,
                    note,
                })
            } else if out_of_office {
                Availability::OutOfOffice(v1::OutOfOffice {
                    from_time: from.map(|t| timestamp("from", &t)).transpose()?,
                    until_time: until,
                    note,
                })
            } else {
                anyhow::bail!("say --out-of-office, --busy or --available");
            };
            routing
                .set_rep_availability(conn.request(
                    &token,
                    v1::SetRepAvailabilityRequest {
                        rep: with_collection("reps", &rep),
                        availability: Some(availability),
                    },
                )?)
                .await?
                .into_inner()
                .rep
        }
    };
    output::availability(&rep.unwrap_or_default());
    Ok(())
}

pub async fn erase(conn: &Connection, lead: &str) -> anyhow::Result<()> {
    let erased = conn
        .intake()
        .await?
        .erase_lead(conn.request(
            &conn.token()?,
            v1::EraseLeadRequest {
                name: with_collection("leads", lead),
            },
        )?)
        .await?
        .into_inner();
    let lead = erased.lead.unwrap_or_default();
    if erased.erased {
        println!(
            "erased the personal data of {}; its skeleton stays ({} in {})",
            lead.name,
            output::state_name(lead.state()),
            lead.pool
        );
    } else {
        println!("{} was erased before; nothing changed", lead.name);
    }
    Ok(())
}
