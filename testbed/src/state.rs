//! State shared by both origins: configuration, the signing key, injected faults and request
//! counters, plus small helpers every handler needs (clock, origin URL, JSON errors).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use bytes::Bytes;

use crate::TestbedConfig;
use crate::media::{self, Feed, LOOP_LEN, Packaging};
use crate::token::Signer;

/// How long the `slow` faults delay an answer.
pub const SLOW_DELAY: Duration = Duration::from_secs(2);

/// A fault injected into one CDN feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeedFault {
    /// 404 on playlists and segments.
    Dead,
    /// 403 on playlists and segments.
    Forbidden,
    /// 500 on playlists and segments.
    ServerError,
    /// Media playlists list no segments.
    Empty,
    /// Media playlists stop advancing at the given instant (Unix seconds).
    Stale {
        /// When the feed froze.
        frozen_at: f64,
    },
    /// Every answer is delayed by [`SLOW_DELAY`].
    Slow,
    /// Playlists answer; segments (and keys, init sections) 404.
    SegmentsDead,
    /// Playlists answer; segments (and keys, init sections) 403, as a CDN that revoked a token.
    SegmentsForbidden,
}

/// A fault injected into a schedule API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFault {
    /// Delayed by [`SLOW_DELAY`], then normal.
    Slow,
    /// 500.
    ServerError,
    /// 200 with truncated JSON.
    Malformed,
}

/// A fault injected into one step of the demo-tv site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteFault {
    /// The watch page carries no CSRF token.
    NoCsrf,
    /// The token API answers invalid JSON.
    BadTokenJson,
    /// The token API answer lacks the obfuscated URL.
    NoUrl,
}

/// Every fault currently injected.
#[derive(Default)]
pub struct Faults {
    /// Per feed name.
    pub feeds: HashMap<&'static str, FeedFault>,
    /// Per schedule source (`jolpica`, `openf1`).
    pub sources: HashMap<&'static str, SourceFault>,
    /// The demo-tv site.
    pub demo_tv: Option<SiteFault>,
}

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The main origin (everything).
    Main,
    /// The second origin, target of the `redirect` feed (same routes).
    Second,
}

/// State shared by all handlers of both origins.
pub struct Shared {
    /// The configuration the testbed started with.
    pub config: TestbedConfig,
    /// Process-wide signing key.
    pub signer: Signer,
    /// Process start rounded down to 5 minutes (Unix seconds); anchors season 9999.
    pub anchor: i64,
    /// First segment of discontinuity counting (see [`crate::hls::dseq_epoch`]).
    pub dseq_epoch: u64,
    /// Bound address of the main origin.
    pub main_addr: SocketAddr,
    /// Bound address of the second origin.
    pub second_addr: SocketAddr,
    /// With [`TestbedConfig::segment_kbps`]: the padded segments of each MPEG-TS feed, indexed
    /// like [`crate::media::CATALOG`], then variant, then loop position.
    padded: Vec<Option<Vec<Vec<Bytes>>>>,
    faults: Mutex<Faults>,
    stats: Mutex<BTreeMap<String, u64>>,
}

/// Per-origin handler state.
#[derive(Clone)]
pub struct Ctx {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Which listener this router serves.
    pub origin: Origin,
}

/// The current time in Unix seconds.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Shared {
    /// Fresh state for listeners bound at `main_addr` and `second_addr`.
    pub fn new(config: TestbedConfig, main_addr: SocketAddr, second_addr: SocketAddr) -> Self {
        let started = now();
        let start = started as i64;
        let padded = media::CATALOG
            .iter()
            .map(|feed| {
                let kbps = config.segment_kbps.filter(|_| feed.packaging == Packaging::Ts)?;
                Some(
                    feed.variants
                        .iter()
                        .map(|v| {
                            let len = media::padded_len(feed, v, kbps);
                            v.segments.iter().map(|s| media::padded(s, len)).collect()
                        })
                        .collect(),
                )
            })
            .collect();
        Shared {
            padded,
            dseq_epoch: crate::hls::dseq_epoch(started, config.segment_secs),
            config,
            signer: Signer::random(),
            anchor: start - start.rem_euclid(300),
            main_addr,
            second_addr,
            faults: Mutex::default(),
            stats: Mutex::default(),
        }
    }

    /// Segment `seq` of variant `variant` of `feed` (padded when the testbed pads).
    pub fn segment(&self, feed: &Feed, variant: usize, seq: u64) -> Bytes {
        let at = (seq % LOOP_LEN) as usize;
        match self.padded_of(feed) {
            Some(padded) => padded[variant][at].clone(),
            None => Bytes::from_static(feed.variants[variant].segments[at]),
        }
    }

    /// `(peak, average)` bit rates of each variant of `feed` as served.
    pub fn rates(&self, feed: &Feed) -> Vec<(u64, u64)> {
        (0..feed.variants.len())
            .map(|vi| match self.padded_of(feed) {
                Some(padded) => {
                    let bits = |len: usize| len as u64 * 8 / media::MEDIA_SEGMENT_SECS;
                    let sizes: Vec<usize> = padded[vi].iter().map(Bytes::len).collect();
                    let total: usize = sizes.iter().sum();
                    (bits(sizes.iter().copied().max().unwrap_or(0)), bits(total) / LOOP_LEN)
                }
                None => {
                    let s = media::stats(feed, vi);
                    (s.peak_bps, s.average_bps)
                }
            })
            .collect()
    }

    fn padded_of(&self, feed: &Feed) -> Option<&Vec<Vec<Bytes>>> {
        let fi = media::CATALOG.iter().position(|f| f.name == feed.name)?;
        self.padded[fi].as_ref()
    }

    /// Locks the fault table (a poisoned lock is still usable: faults are plain data).
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault on `feed`, if any.
    pub fn feed_fault(&self, feed: &str) -> Option<FeedFault> {
        self.faults().feeds.get(feed).copied()
    }

    /// Counts one request for `path`.
    pub fn count(&self, path: &str) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.entry(path.to_owned()).or_default() += 1;
    }

    /// A copy of the request counters.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Clears faults and counters.
    pub fn reset(&self) {
        *self.faults() = Faults::default();
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// A fresh CDN token for `feed` and its expiry (Unix seconds).
    pub fn mint(&self, feed: &str) -> (String, u64) {
        let expires_at = (now() + self.config.token_ttl.as_secs_f64()).ceil() as u64;
        (self.signer.cdn_token(feed, expires_at), expires_at)
    }
}

impl Ctx {
    /// `http://HOST` as the client addressed us (Host header), falling back to the bound address.
    pub fn origin_url(&self, headers: &HeaderMap) -> String {
        format!("http://{}", self.host(headers))
    }

    /// The `Host` the client used, if it is a plausible authority; else the bound address.
    pub fn host(&self, headers: &HeaderMap) -> String {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .map(str::to_owned)
            .unwrap_or_else(|| match self.origin {
                Origin::Main => self.shared.main_addr.to_string(),
                Origin::Second => self.shared.second_addr.to_string(),
            })
    }

    /// The absolute, freshly tokenised master URL of `feed` as seen from this request.
    pub fn master_url(&self, headers: &HeaderMap, feed: &str) -> (String, u64) {
        let (token, expires_at) = self.shared.mint(feed);
        (format!("{}/cdn/{feed}/master.m3u8?token={token}", self.origin_url(headers)), expires_at)
    }
}

/// Host name part of an authority (`name:port`, `[v6]:port`, `name`).
pub fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().map_or(authority, |h| &authority[..h.len() + 2]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// A JSON error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// 400 with `code` `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 with `code` `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("cdn.demo.invalid"), "cdn.demo.invalid");
        assert_eq!(host_name("[::1]:80"), "[::1]");
    }
}
