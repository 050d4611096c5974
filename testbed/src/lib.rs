//! pitwall-testbed: a simulated internet (schedule APIs, streaming sites, a live HLS CDN) that
//! pitwall's tests, benchmarks and `--demo` mode run against.
//!
//! Code map:
//! - [`schedule`]: jolpica-f1 and OpenF1 from embedded fixtures, plus the synthetic season 9999.
//! - [`cdn`] over [`hls`] (pure playlist text), [`media`] (embedded segments) and [`range`]:
//!   the live HLS CDN, behind [`token`]s.
//! - [`demo_tv`] and [`pages`]: the sites an extractor scrapes for playlist URLs.
//! - [`control`]: fault injection, fresh tokens, request counters.
//! - [`state`]: what both origins share.
//!
//! Two listeners serve the same routes: the main origin and a second origin, which the
//! `redirect` feed's master points at (302), as CDNs hand players to an edge host.

pub mod cdn;
pub mod control;
pub mod demo_tv;
pub mod hls;
pub mod media;
pub mod pages;
pub mod range;
pub mod schedule;
pub mod state;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{Ctx, Origin, Shared};

/// Every CDN feed, in catalog order:
/// - `main`, `onboard-1`: MPEG-TS, 3 variants (360p/540p/720p), token only.
/// - `onboard-2`: like `main`, but also needs `Referer: http://HOST/demo-tv/…`.
/// - `pitlane`: like `onboard-2`, and a browser `User-Agent` (`Mozilla/5.0 …`).
/// - `fmp4`: fragmented MP4 with `EXT-X-MAP` (one 360p variant).
/// - `byterange`: `EXT-X-BYTERANGE` into one `stream.ts` (one variant).
/// - `aes`: AES-128 segments, `EXT-X-KEY` with a token-protected key and an IV (one variant).
/// - `redirect`: the master answers 302 to the second origin (one variant).
/// - `gzip`: playlists `Content-Encoding: gzip` when accepted (one variant).
pub const FEEDS: &[&str] =
    &["main", "onboard-1", "onboard-2", "pitlane", "fmp4", "byterange", "aes", "redirect", "gzip"];

/// How to run a testbed.
#[derive(Debug, Clone)]
pub struct TestbedConfig {
    /// Main origin address; port 0 picks a free one. The second origin binds the same IP, port 0.
    pub listen: SocketAddr,
    /// Lifetime of CDN tokens.
    pub token_ttl: Duration,
    /// Announced segment duration and sliding step of the live playlists, in seconds. The
    /// embedded media is cut in 2 s segments, so only the default 2 is truthful; smaller values
    /// make tests slide faster.
    pub segment_secs: u32,
}

impl Default for TestbedConfig {
    fn default() -> Self {
        TestbedConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_ttl: Duration::from_secs(120),
            segment_secs: 2,
        }
    }
}

/// A running testbed; stops when shut down or dropped.
pub struct Testbed {
    addr: SocketAddr,
    second_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The routes one origin serves.
pub fn app(shared: Arc<Shared>, origin: Origin) -> Router {
    let ctx = Ctx { shared, origin };
    Router::new()
        .route("/", get(index))
        .merge(schedule::routes())
        .merge(cdn::routes())
        .merge(demo_tv::routes())
        .merge(pages::routes())
        .merge(control::routes())
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), control::count_requests))
        .with_state(ctx)
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pitwall-testbed</title></head>\n<body>\n<h1>pitwall-testbed</h1>\n<ul>\n<li><a href=\"/demo-tv/\">Demo TV</a></li>\n<li><a href=\"/pages/\">Stream pages</a></li>\n<li><a href=\"/jolpica/ergast/f1/9999.json\">jolpica season 9999</a></li>\n<li><a href=\"/openf1/v1/sessions?year=9999\">OpenF1 sessions 9999</a></li>\n<li><a href=\"/_control/stats\">request counters</a></li>\n</ul>\n</body>\n</html>\n",
    )
}

impl Testbed {
    /// Binds the main origin at `config.listen` and the second origin on the same IP (free
    /// port), and starts serving both.
    pub async fn start(config: TestbedConfig) -> std::io::Result<Testbed> {
        let main = TcpListener::bind(config.listen).await?;
        let second = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?;
        let addr = main.local_addr()?;
        let second_addr = second.local_addr()?;
        // Load the embedded media now, so a bad media tree fails at start, not mid-request.
        std::sync::LazyLock::force(&media::STATS);
        let shared = Arc::new(Shared::new(config, addr, second_addr));
        let (stop, _) = watch::channel(false);
        let tasks = [(main, Origin::Main), (second, Origin::Second)]
            .into_iter()
            .map(|(listener, origin)| {
                let router = app(shared.clone(), origin);
                let mut stopped = stop.subscribe();
                tokio::spawn(async move {
                    let shutdown = async move {
                        // A closed channel (Testbed dropped) also means stop.
                        let _ = stopped.wait_for(|s| *s).await;
                    };
                    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                        tracing::error!(error = %e, "testbed listener failed");
                    }
                })
            })
            .collect();
        Ok(Testbed { addr, second_addr, stop, tasks })
    }

    /// Address of the main origin.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Address of the second origin (target of the `redirect` feed).
    pub fn second_addr(&self) -> SocketAddr {
        self.second_addr
    }

    /// `http://ADDR` of the main origin.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then stops.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
