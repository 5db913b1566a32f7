use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    attendance::cli::panic::install();
    let cli = attendance::cli::Cli::parse();
    match attendance::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", attendance::cli::error_chain(&e));
            match e.downcast_ref::<attendance::cli::PartialFailure>() {
                Some(partial) => std::process::ExitCode::from(partial.status),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
