//! `wharf`: the server, the demo and the administrative commands.

mod cli;
mod client;
mod config;
mod demo;
mod remote;
mod serve;

use clap::Parser;

/// mimalloc returns freed memory to the system and handles frees from other threads without
/// fragmenting; with glibc's per-thread arenas a large backfill's resident memory kept growing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Store reads run on blocking threads; a few suffice, and every extra thread is another
        // malloc arena holding memory (measured: peak RSS of large exports).
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
