//! The `pitwall` binary: parse flags and config (exit 2 on a bad one), start logging, bind,
//! print `listening on http://ADDR`, and serve until SIGINT/SIGTERM (exit 0).

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, error::ContextKind};
use pitwall::config::{Cli, Command, Config};

/// mimalloc instead of glibc's malloc: the relay's per-request allocations (headers, tokens,
/// body frames) cost about a third as much CPU (see docs/BENCHMARKS.md, relay).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let config = match Config::load(cli.flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pitwall: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let check = match cli.command {
        Some(Command::CheckSource(args)) => Some(args),
        Some(Command::Serve) | None => None,
    };
    match &check {
        Some(_) => pitwall::telemetry::init_check_logging(),
        None => pitwall::telemetry::init_logging(config.flags.log_format),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pitwall: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match check {
        Some(args) => runtime.block_on(check_source(config, args)),
        None => runtime.block_on(serve(config)),
    }
}

/// `pitwall check-source`: 0 when a live stream was found, 1 when none was, 2 for bad input.
async fn check_source(config: Config, args: pitwall::check::CheckArgs) -> ExitCode {
    match pitwall::check::run(&config, &args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pitwall check-source: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    // Register the signal handlers before announcing the address, so a SIGTERM sent right after
    // `listening on` is a clean shutdown, not the default kill.
    let shutdown = match shutdown_signal() {
        Ok(signal) => signal,
        Err(e) => {
            eprintln!("pitwall: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.flags.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("pitwall: cannot listen on {}: {e}", config.flags.listen);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(e) => {
            eprintln!("pitwall: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    }
    match pitwall::run(config, listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pitwall: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line; on error prints clap's message (noting when the bad value came from
/// a `PITWALL_*` environment variable) and returns exit code 2 (0 for `--help`/`--version`).
fn parse_cli() -> Result<Cli, ExitCode> {
    let command = Cli::command();
    let result = command.clone().try_get_matches().and_then(|m| Cli::from_arg_matches(&m));
    result.map_err(|e| {
        let _ = e.print();
        if !e.use_stderr() {
            return ExitCode::SUCCESS;
        }
        if let Some(arg) = e.get(ContextKind::InvalidArg) {
            let flag = arg.to_string();
            let long = flag.split_whitespace().next().unwrap_or_default().trim_start_matches("--");
            let given_as_flag =
                std::env::args().any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")));
            let env = command.get_arguments().find(|a| a.get_long() == Some(long)).and_then(|a| a.get_env());
            if let (false, Some(env)) = (given_as_flag, env)
                && std::env::var_os(env).is_some()
            {
                eprintln!("note: the value came from the environment variable {}", env.to_string_lossy());
            }
        }
        ExitCode::from(2)
    })
}

/// A future resolving on SIGINT or SIGTERM; the handlers are registered now, not on first poll.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
    })
}

/// A future resolving on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
