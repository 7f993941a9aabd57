#[tokio::main]
async fn main() -> std::process::ExitCode {
    leadpool_server::run_main::<leadpool_routing::Application>().await
}
