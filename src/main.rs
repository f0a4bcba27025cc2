//! `hailong`: the command line. Parses arguments, reads the configuration, runs one command.
/// mimalloc: the writer and the request handlers allocate many small, short-lived values
/// on several threads, where it is measurably faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
