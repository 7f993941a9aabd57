//! leadpoolctl: talk to a Leadpool deployment from a terminal.

mod client;
mod demo;
mod output;

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
    /// Mint a development token (needs the deployment's HS256 secret).
    Token {
        /// Who the token is for: reps/alice, users/ops, services/crm.
        #[arg(long, default_value = "users/dev")]
        subject: String,
        /// Roles: rep, manager, admin, service.
        #[arg(long, value_delimiter = ',', default_value = "admin")]
        roles: Vec<String>,
        /// How long the token is valid, e.g. 8h.
        #[arg(long, default_value = "8h", value_parser = humantime_duration)]
        ttl: Duration,
    },
    /// Wait until every service reports SERVING (readiness), or fail after --timeout.
    Health {
        #[arg(long, default_value = "60s", value_parser = humantime_duration)]
        timeout: Duration,
    },
    /// List pools with how many leads each holds.
    Pools,
    /// List the scheduler's jobs with their last and next run.
    Jobs,
    /// Load a small demo (pools, reps, leads) and show a rep claiming and working a lead.
    Demo,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
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
    let connection = Connection::new(cli.connection);
    match cli.command {
        Command::Token {
            subject,
            roles,
            ttl,
        } => {
            let token = connection
                .issuer()?
                .mint(&subject, &parse_roles(&roles)?, ttl)?;
            output::line(&token);
            Ok(())
        }
        Command::Health { timeout } => connection.wait_ready(timeout).await,
        Command::Pools => output::pools(&connection.list_pools().await?),
        Command::Jobs => output::jobs(&connection.list_jobs().await?),
        Command::Demo => demo::run(&connection).await,
    }
}
