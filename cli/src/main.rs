//! leadpoolctl: operate and try out a Leadpool deployment from a terminal, the way kubectl
//! works a cluster: apply a policy from git, ask why a lead went where it went, import a file.

mod client;
mod commands;
mod demo;
mod events;
mod manage;
mod output;
mod report;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use leadpool_auth::Role;

use crate::client::Connection;

#[derive(Parser)]
#[command(
    name = "leadpoolctl",
    version,
    about = "Operate and try out a Leadpool deployment"
)]
struct Cli {
    #[command(flatten)]
    connection: client::ConnectionArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply a policy document (validates the whole document first).
    Apply {
        /// The YAML policy file.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Show what would change; apply nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply only if the current version is this one.
        #[arg(long)]
        expected_version: Option<i64>,
    },
    /// Show resources.
    Get {
        #[command(subcommand)]
        what: GetWhat,
    },
    /// Explain routing and access decisions.
    Explain {
        #[command(subcommand)]
        what: ExplainWhat,
    },
    /// Import leads from a CSV file (header row; columns idempotency_key, email, name, company,
    /// company_domain, country, phone, score, source, region, product, industry; any other
    /// column becomes an attribute).
    Import {
        file: PathBuf,
        /// Identifies the import; re-importing with the same id creates nothing twice.
        /// Default: derived from the file name and size.
        #[arg(long)]
        import_id: Option<String>,
    },
    /// Pool health: depth against its thresholds, depletion, claim speed, age mix, sizing and
    /// the alerts firing.
    Pools,
    /// List the scheduler's jobs with their last and next run.
    Jobs,
    /// The weekly cleanup's proposed policy change (low-volume pools merged): what it merges,
    /// what it would change, and (--out) the document to review and `apply`. Never applied by
    /// itself.
    Cleanup {
        /// Write the proposed policy document (YAML) to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What if (X8): replay a past window's inflow through a candidate policy and the policy
    /// in force, side by side, with the model's own error (admins; managers: their pools).
    Simulate(simulate::SimulateArgs),
    /// Claim as a rep (use --as reps/{id}): `claim next <pool>` or `claim <lead>`.
    Claim {
        /// `next` followed by a pool, or a lead name (leads/{uuid}).
        target: String,
        pool: Option<String>,
    },
    /// Where a rep stands: limits used and when they free up, cooldown, per-pool access,
    /// ratios and rotation windows, acceptance, open leads with deadlines. Default: --as.
    Status {
        /// reps/{id} or {id}; managers and admins may ask about anyone.
        rep: Option<String>,
    },
    /// List and search leads: by state (escalated …), pool, owner, team, receive time, and a
    /// prefix of email, name, company or domain. Managers see their teams' leads.
    Leads(manage::LeadsArgs),
    /// The audit log (admins): every administrative action, newest first, with who, when,
    /// from where and what.
    Audit(manage::AuditArgs),
    /// One lead: where it is, who holds it, and why (its latest change).
    Lead {
        #[command(subcommand)]
        what: LeadWhat,
    },
    /// Assign an escalated or available lead to a rep (managers: their teams).
    Assign {
        lead: String,
        #[arg(long)]
        rep: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// Admins: assign although the rep is at her open-lead cap (needs --reason).
        #[arg(long)]
        override_cap: bool,
    },
    /// Move a rep's open leads to another rep (--to) or back to their pools (--to-pools).
    Reassign {
        #[arg(long)]
        from: String,
        #[arg(
            long,
            conflicts_with = "to_pools",
            required_unless_present = "to_pools"
        )]
        to: Option<String>,
        #[arg(long)]
        to_pools: bool,
        /// Only these leads (repeatable); default: all her open leads.
        #[arg(long = "lead")]
        leads: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Show what would move and what would be refused; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Return a lead from its rep to its pool.
    Return {
        lead: String,
        #[arg(long)]
        reason: String,
    },
    /// A rep's availability: out of office, busy, available.
    Availability {
        #[command(subcommand)]
        command: manage::AvailabilityCommand,
    },
    /// The event stream: `events watch` tails it.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Webhook subscriptions (admins): list (default), create, delete; their deliveries and
    /// failures; replay dead letters.
    Webhooks {
        #[command(subcommand)]
        command: Option<events::WebhooksCommand>,
    },
    /// Erase a lead's personal data (admins; GDPR Art. 17). The skeleton stays.
    Erase { lead: String },
    /// Mint a development token (needs the deployment's HS256 secret).
    Token {
        /// Who the token is for: reps/alice, users/ops, services/crm.
        #[arg(long, default_value = "users/dev")]
        subject: String,
        /// Roles: rep, manager, admin, service.
        #[arg(long, value_delimiter = ',', default_value = "admin")]
        roles: Vec<String>,
        /// How long the token is valid, e.g. 8h.
        #[arg(long, default_value = "8h", value_parser = parse_duration)]
        ttl: Duration,
    },
    /// Wait until every service reports SERVING (readiness), or fail after --timeout.
    Health {
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Apply a demo policy, load a few leads and show a rep claiming and working one.
    Demo {
        #[arg(long, default_value = "examples/p2-segmented-pools.yaml")]
        policy: PathBuf,
    },
}

#[derive(Subcommand)]
enum LeadWhat {
    /// Look a lead up.
    Get { lead: String },
}

#[derive(Subcommand)]
enum GetWhat {
    /// The policy in force (or --version N), as YAML.
    Policy {
        #[arg(long, default_value_t = 0)]
        version: i64,
    },
    /// Every applied policy version.
    Versions,
}

#[derive(Subcommand)]
enum ExplainWhat {
    /// Which rule routes a lead and why earlier rules did not match: a stored lead
    /// (`leads/{uuid}`) or a hypothetical one (--score, --region, …).
    Route {
        lead: Option<String>,
        #[arg(long, default_value_t = 0)]
        score: i32,
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "")]
        country: String,
        #[arg(long, default_value = "")]
        product: String,
        #[arg(long, default_value = "")]
        industry: String,
        #[arg(long, default_value = "")]
        source: String,
        #[arg(long, default_value = "")]
        language: String,
    },
    /// Whether a rep may claim from a pool now (or --at an RFC 3339 time), and why.
    Access {
        #[arg(long)]
        rep: String,
        #[arg(long)]
        pool: String,
        #[arg(long)]
        at: Option<String>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 30s, 5m or 8h"))?;
    match unit {
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        "d" => Ok(Duration::from_secs(n * 86400)),
        _ => Err(format!("`{s}` has an unknown unit; use s, m, h or d")),
    }
}

fn parse_roles(names: &[String]) -> anyhow::Result<Vec<Role>> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "rep" => Ok(Role::Rep),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            "service" => Ok(Role::Service),
            other => anyhow::bail!("unknown role `{other}`; use rep, manager, admin or service"),
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::error(&err);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let conn = Connection::new(cli.connection);
    match cli.command {
        Command::Apply {
            file,
            dry_run,
            expected_version,
        } => commands::apply(&conn, &file, dry_run, expected_version).await,
        Command::Get {
            what: GetWhat::Policy { version },
        } => commands::get_policy(&conn, version).await,
        Command::Get {
            what: GetWhat::Versions,
        } => commands::list_versions(&conn).await,
        Command::Explain {
            what:
                ExplainWhat::Route {
                    lead,
                    score,
                    region,
                    country,
                    product,
                    industry,
                    source,
                    language,
                },
        } => {
            let sketch = leadpool_proto::v1::LeadSketch {
                score,
                region,
                country,
                product,
                industry,
                source,
                language,
            };
            commands::explain_route(&conn, lead, sketch).await
        }
        Command::Explain {
            what: ExplainWhat::Access { rep, pool, at },
        } => commands::explain_access(&conn, &rep, &pool, at.as_deref()).await,
        Command::Import { file, import_id } => commands::import(&conn, &file, import_id).await,
        Command::Pools => {
            output::pools(&conn.list_pool_health().await?)?;
            output::type_velocity(&conn.type_velocity().await?);
            Ok(())
        }
        Command::Jobs => output::jobs(&conn.list_jobs().await?),
        Command::Cleanup { out } => {
            let proposal = conn.cleanup_proposal().await?;
            if let Some(path) = out {
                std::fs::write(&path, &proposal.document)
                    .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            }
            output::cleanup(&proposal)
        }
        Command::Simulate(args) => simulate::run(&conn, args).await,
        Command::Claim { target, pool } => commands::claim(&conn, &target, pool.as_deref()).await,
        Command::Status { rep } => commands::rep_status(&conn, rep.as_deref()).await,
        Command::Token {
            subject,
            roles,
            ttl,
        } => {
            let token = conn.issuer()?.mint(&subject, &parse_roles(&roles)?, ttl)?;
            output::line(&token);
            Ok(())
        }
        Command::Leads(args) => manage::leads(&conn, args).await,
        Command::Audit(args) => manage::audit(&conn, args).await,
        Command::Lead {
            what: LeadWhat::Get { lead },
        } => manage::get_lead(&conn, &lead).await,
        Command::Assign {
            lead,
            rep,
            reason,
            override_cap,
        } => manage::assign(&conn, &lead, &rep, reason, override_cap).await,
        Command::Reassign {
            from,
            to,
            to_pools: _,
            leads,
            reason,
            dry_run,
        } => manage::reassign(&conn, &from, to.as_deref(), &leads, reason, dry_run).await,
        Command::Return { lead, reason } => manage::return_lead(&conn, &lead, reason).await,
        Command::Availability { command } => manage::availability(&conn, command).await,
        Command::Erase { lead } => manage::erase(&conn, &lead).await,
        Command::Events {
            command: events::EventsCommand::Watch(args),
        } => events::watch(&conn, args).await,
        Command::Webhooks { command } => events::webhooks(&conn, command).await,
        Command::Health { timeout } => conn.wait_ready(timeout).await,
        Command::Demo { policy } => demo::run(&conn, &policy).await,
    }
}
