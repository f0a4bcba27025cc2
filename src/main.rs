//! `hailong`: the command line. Parses arguments, reads the configuration, runs one command.
use std::process::ExitCode;

use clap::Parser;
use hailong::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    hailong::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}
