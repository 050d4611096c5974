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

pub mod bench;
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
    /// Feeds to kill (404 on everything) on a timer counted from start, e.g. for soak runs.
    pub kills: Vec<FeedKill>,
    /// Pad the MPEG-TS segments of every ladder feed with null packets so its top variant runs
    /// at this many kbit/s (lower variants by pixel count, see [`media::padded_len`]); the
    /// masters advertise the padded rates. `None`: the embedded media as is (about 190 kbit/s
    /// at 720p, far below a real broadcast), which is what tests want.
    pub segment_kbps: Option<u32>,
}

/// `FEED@AFTER[+FOR]`: feed `FEED` goes dead `AFTER` the testbed starts, and comes back `FOR`
/// later (never, without `+FOR`). Durations in humantime form: `90s`, `2m`, `1h30m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedKill {
    /// A name from [`FEEDS`].
    pub feed: &'static str,
    /// Time from start until the feed dies.
    pub after: Duration,
    /// How long it stays dead; `None` means until the testbed stops.
    pub down_for: Option<Duration>,
}

impl std::str::FromStr for FeedKill {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (feed, when) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?} is not FEED@AFTER[+FOR] (e.g. main@90s or main@90s+30s)"))?;
        let feed = media::feed_by_name(feed.trim())
            .ok_or_else(|| format!("unknown feed {feed:?} (one of {})", FEEDS.join(", ")))?
            .name;
        let (after, down_for) = match when.split_once('+') {
            Some((after, down)) => (after, Some(down)),
            None => (when, None),
        };
        let duration = |d: &str| {
            humantime::parse_duration(d.trim())
                .map_err(|e| format!("{d:?} in {text:?} is not a duration: {e}"))
        };
        let down_for = down_for.map(duration).transpose()?;
        if down_for == Some(Duration::ZERO) {
            return Err(format!("{text:?}: the time a feed stays dead must be more than 0"));
        }
        Ok(FeedKill { feed, after: duration(after)?, down_for })
    }
}

impl Default for TestbedConfig {
    fn default() -> Self {
        TestbedConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token_ttl: Duration::from_secs(120),
            segment_secs: 2,
            kills: Vec::new(),
            segment_kbps: None,
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

/// Kills one feed on its timer (and revives it when the kill has an end).
async fn run_kill(shared: Arc<Shared>, kill: FeedKill) {
    tokio::time::sleep(kill.after).await;
    tracing::warn!(feed = kill.feed, down_for = ?kill.down_for, "testbed: feed killed on its timer");
    shared.faults().feeds.insert(kill.feed, state::FeedFault::Dead);
    if let Some(down_for) = kill.down_for {
        tokio::time::sleep(down_for).await;
        shared.faults().feeds.remove(kill.feed);
        tracing::warn!(feed = kill.feed, "testbed: feed back on its timer");
    }
}

/// The routes one origin serves.
pub fn app(shared: Arc<Shared>, origin: Origin) -> Router {
    let ctx = Ctx { shared, origin };
    Router::new()
        .route("/", get(index))
        .merge(schedule::routes())
        .merge(cdn::routes())
        .merge(bench::routes())
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
        let kills = config.kills.clone();
        let shared = Arc::new(Shared::new(config, addr, second_addr));
        let (stop, _) = watch::channel(false);
        let mut tasks: Vec<JoinHandle<()>> = [(main, Origin::Main), (second, Origin::Second)]
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
        for kill in kills {
            let (shared, mut stopped) = (shared.clone(), stop.subscribe());
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    () = run_kill(shared, kill) => {}
                    _ = stopped.wait_for(|s| *s) => {}
                }
            }));
        }
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
