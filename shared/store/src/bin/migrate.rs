//! Applies Leadpool's migrations and exits: `make migrate`, and the Kubernetes migration Job.

use clap::Parser;
use leadpool_config::{DatabaseConfig, Secret};

#[derive(Parser)]
#[command(about = "Apply Leadpool's database migrations")]
struct Args {
    /// The database to migrate.
    #[arg(
        long,
        env = "LEADPOOL_DATABASE__URL",
        default_value = "postgres://postgres@127.0.0.1:5432/leadpool"
    )]
    database_url: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = DatabaseConfig {
        url: Secret::new(args.database_url),
        max_connections: 1,
        ..DatabaseConfig::default()
    };
    let result = match leadpool_store::Store::connect(&config) {
        Ok(store) => store.migrate().await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => {
            eprintln!("migrations applied");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("leadpool-migrate: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
