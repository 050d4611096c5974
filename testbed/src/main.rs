//! `pitwall-testbed` binary: binds both origins, prints `listening on http://ADDR` then
//! `second origin on http://ADDR`, serves until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pitwall_testbed::{Testbed, TestbedConfig};

#[derive(Parser)]
#[command(version, about = "A simulated internet for pitwall's tests and demo")]
struct Args {
    /// Address of the main origin; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Lifetime of CDN tokens, e.g. `120s`, `5m`.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    token_ttl: Duration,
    /// Segment duration of the live playlists, in seconds (the media is cut for 2).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=60))]
    segment_secs: u32,
    /// Kill a feed on a timer: `FEED@AFTER[+FOR]`, e.g. `main@90s` or `main@90s+30s` (repeatable).
    #[arg(long = "kill")]
    kills: Vec<pitwall_testbed::FeedKill>,
    /// Pad MPEG-TS segments so each ladder's top variant runs at this many kbit/s (load tests).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    segment_kbps: Option<u32>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let testbed = Testbed::start(TestbedConfig {
        listen: args.listen,
        token_ttl: args.token_ttl,
        segment_secs: args.segment_secs,
        kills: args.kills,
        segment_kbps: args.segment_kbps,
    })
    .await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", testbed.url())?;
        writeln!(out, "second origin on http://{}", testbed.second_addr())?;
        out.flush()?;
    }
    shutdown_signal().await;
    testbed.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
