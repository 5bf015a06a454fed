//! `praxis`: the one binary. Run `praxis --help` for the commands.
#![forbid(unsafe_code)]

mod backup;
mod cli;
mod config;
mod demo;
mod notify;
mod payments;
mod server;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    config::init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("praxis: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("praxis: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
