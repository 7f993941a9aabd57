//! The event stream and webhooks: `leadpoolctl events watch` tails the stream, `leadpoolctl
//! webhooks` manages subscriptions, lists deliveries and failures, and replays dead letters.

#![allow(clippy::print_stdout)]

use clap::{Args, Subcommand};
use leadpool_proto::v1;

use crate::client::Connection;
use crate::output;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Tail the stream: each event as it happens (from now, unless --after or --from-start).
    Watch(WatchArgs),
}

#[derive(Args)]
pub struct WatchArgs {
    /// Only events of this type (repeatable): lead.claimed, lead.escalated, pool.alert.fired …
    #[arg(long = "type")]
    types: Vec<String>,
    /// Only events of this pool.
    #[arg(long)]
    pool: Option<String>,
    /// Only events of this team's reps and pools.
    #[arg(long)]
    team: Option<String>,
    /// Resume after this cursor (printed with --json, or by an earlier run).
    #[arg(long, conflicts_with = "from_start")]
    after: Option<String>,
    /// From the start of the stream, not from now.
    #[arg(long)]
    from_start: bool,
    /// Each event as one CloudEvents JSON line (with its cursor), instead of a table row.
    #[arg(long)]
    json: bool,
    /// Stop after this many events.
    #[arg(long)]
    limit: Option<usize>,
}

/// `leadpoolctl events watch`.
pub async fn watch(conn: &Connection, args: WatchArgs) -> anyhow::Result<()> {
    let request = v1::WatchEventsRequest {
        after: args.after.unwrap_or_default(),
        types: args.types,
        pool: args.pool.map(with_pools).unwrap_or_default(),
        team: args.team.unwrap_or_default(),
        from_now: false,
    };
    let from_now = request.after.is_empty() && !args.from_start;
    let request = v1::WatchEventsRequest {
        from_now,
        ..request
    };
    let token = conn.token()?;
    let mut stream = conn
        .events()
        .await?
        .watch_events(conn.request(&token, request)?)
        .await?
        .into_inner();
    if !args.json {
        output::event_header();
    }
    let mut seen = 0;
    while let Some(event) = stream.message().await? {
        if args.json {
            output::event_json(&event);
        } else {
            output::event(&event);
        }
        seen += 1;
        if args.limit.is_some_and(|limit| seen >= limit) {
            break;
        }
    }
    Ok(())
}

fn with_pools(pool: String) -> String {
    crate::commands::with_collection("pools", &pool)
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// The subscriptions (the default).
    List,
    /// Subscribe a URL (https, or http to localhost) to events; prints the signing secret once.
    Create {
        #[arg(long)]
        url: String,
        /// Only events of this type (repeatable); default: every type.
        #[arg(long = "type")]
        types: Vec<String>,
        #[arg(long)]
        pool: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Stop a subscription (webhooks/{uuid}).
    Delete { name: String },
    /// Deliveries, newest first: of one subscription or all, in one state or any.
    Deliveries(DeliveriesArgs),
    /// Deliveries that failed: dead letters, and pending ones waiting for a retry.
    Failures(DeliveriesArgs),
    /// Send a subscription's dead letters again.
    Replay { name: String },
}

#[derive(Args)]
pub struct DeliveriesArgs {
    /// A subscription (webhooks/{uuid}); default: every one.
    name: Option<String>,
    /// pending, delivered or dead.
    #[arg(long)]
    state: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// `leadpoolctl webhooks …`.
pub async fn webhooks(conn: &Connection, command: Option<WebhooksCommand>) -> anyhow::Result<()> {
    let token = conn.token()?;
    let mut events = conn.events().await?;
    match command.unwrap_or(WebhooksCommand::List) {
        WebhooksCommand::List => {
            let listed = events
                .list_webhook_subscriptions(
                    conn.request(&token, v1::ListWebhookSubscriptionsRequest {})?,
                )
                .await?
                .into_inner();
            output::subscriptions(&listed.subscriptions);
        }
        WebhooksCommand::Create {
            url,
            types,
            pool,
            description,
        } => {
            let created = events
                .create_webhook_subscription(conn.request(
                    &token,
                    v1::CreateWebhookSubscriptionRequest {
                        url,
                        types,
                        pool: pool.map(with_pools).unwrap_or_default(),
                        description,
                    },
                )?)
                .await?
                .into_inner();
            let name = created.subscription.map(|s| s.name).unwrap_or_default();
            output::line(&format!("created {name}"));
            output::line(&format!(
                "signing secret (shown once; verify webhook-signature with it): {}",
                created.secret
            ));
        }
        WebhooksCommand::Delete { name } => {
            events
                .delete_webhook_subscription(conn.request(
                    &token,
                    v1::DeleteWebhookSubscriptionRequest { name: name.clone() },
                )?)
                .await?;
            output::line(&format!("deleted {name}"));
        }
        WebhooksCommand::Deliveries(args) => {
            let deliveries = list_deliveries(conn, &token, &args, args.state.as_deref()).await?;
            output::deliveries(&deliveries);
        }
        WebhooksCommand::Failures(args) => {
            let mut failed = list_deliveries(conn, &token, &args, Some("dead")).await?;
            let retrying = list_deliveries(conn, &token, &args, Some("pending")).await?;
            failed.extend(retrying.into_iter().filter(|d| d.attempts > 0));
            output::deliveries(&failed);
        }
        WebhooksCommand::Replay { name } => {
            let replayed = events
                .replay_webhook_deliveries(conn.request(
                    &token,
                    v1::ReplayWebhookDeliveriesRequest {
                        subscription: name.clone(),
                    },
                )?)
                .await?
                .into_inner();
            output::line(&format!(
                "{} dead letters of {name} are pending again",
                replayed.replayed
            ));
        }
    }
    Ok(())
}

/// Pages through deliveries until `args.limit`.
async fn list_deliveries(
    conn: &Connection,
    token: &str,
    args: &DeliveriesArgs,
    state: Option<&str>,
) -> anyhow::Result<Vec<v1::WebhookDelivery>> {
    let mut events = conn.events().await?;
    let mut request = v1::ListWebhookDeliveriesRequest {
        subscription: args
            .name
            .clone()
            .map(|n| crate::commands::with_collection("webhooks", &n))
            .unwrap_or_default(),
        state: state.unwrap_or_default().to_owned(),
        page_size: i32::try_from(args.limit.min(1000)).unwrap_or(1000),
        page_token: String::new(),
    };
    let mut deliveries = Vec::new();
    loop {
        let page = events
            .list_webhook_deliveries(conn.request(token, request.clone())?)
            .await?
            .into_inner();
        deliveries.extend(page.deliveries);
        if page.next_page_token.is_empty() || deliveries.len() >= args.limit {
            break;
        }
        request.page_token = page.next_page_token;
    }
    deliveries.truncate(args.limit);
    Ok(deliveries)
}
