//! Creates Leadpool's database if it is missing, applies the migrations and exits:
//! `make migrate`, and the Kubernetes migration Job.

use clap::Parser;
use leadpool_config::{DatabaseConfig, Secret};
use sqlx::migrate::MigrateDatabase;

#[derive(Parser)]
#[command(about = "Create Leadpool's database if needed and apply its migrations")]
struct Args {
    /// The database to migrate.
    #[arg(
        long,
        env = "LEADPOOL_DATABASE__URL",
        default_value = "postgres://postgres@127.0.0.1:5432/leadpool",
        hide_env_values = true
    )]
    database_url: String,
    /// Fail instead of creating a missing database.
    #[arg(long)]
    no_create: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(message) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{message}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("leadpool-migrate: {err}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<&'static str, String> {
    let exists = sqlx::Postgres::database_exists(&args.database_url)
        .await
        .map_err(|e| format!("cannot reach the database server: {e}"))?;
    if !exists {
        if args.no_create {
            return Err("the database does not exist (and --no-create was given)".into());
        }
        sqlx::Postgres::create_database(&args.database_url)
            .await
            .map_err(|e| format!("cannot create the database: {e}"))?;
    }
    let config = DatabaseConfig {
        url: Secret::new(args.database_url),
        max_connections: 1,
        ..DatabaseConfig::default()
    };
    let store =
        leadpool_store::Store::connect(&config, "leadpool-migrate").map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(if exists {
        "migrations applied"
    } else {
        "database created and migrations applied"
    })
}
