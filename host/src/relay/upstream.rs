//! The relay's upstream side: one pooled client behind the SSRF guard, playlist fetches
//! coalesced per refresh period (read as a stream that stops at [`MAX_PLAYLIST`], decompressed
//! bytes counted), and segment fetches shared through [`flight`](super::flight): N viewers of
//! one URL (and range) cause one upstream fetch, every held chunk counts against one byte budget,
//! and past it a fetch is no longer shared and follows its slowest viewer; with the budget spent,
//! requests pass through unshared. When every viewer of an unfinished fetch has gone, the
//! upstream read is cancelled. Errors never carry the upstream URL (it may hold a CDN token).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::OnceCell;
use url::Url;

use super::{
    flight::{Filler, Flights, Joined, Viewer},
    shm,
};
use crate::{
    net::{Failure, UpstreamGuard, redact},
    store::{Store, keys},
};

/// How long a finished shared fetch stays joinable (unless the budget needs its bytes first):
/// long enough for viewers a few segments behind the live edge to get it from memory.
const LINGER: Duration = Duration::from_secs(30);
/// How long a fetched playlist answers identical requests.
const PLAYLIST_COALESCE: Duration = Duration::from_millis(1000);
/// Largest playlist accepted (after decompression).
pub const MAX_PLAYLIST: usize = 4 << 20;
/// Time to the upstream's response head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Response headers passed from upstream to viewers. Never `Content-Type`: the relay types
/// what it serves itself (see [`Head::content_type`]).
const PASSED: [HeaderName; 5] = [
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::ACCEPT_RANGES,
    header::ETAG,
    header::LAST_MODIFIED,
];

/// Why an upstream fetch failed, in terms a client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Upstream answered an error status.
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    /// Upstream did not answer in time.
    #[error("upstream timed out")]
    Timeout,
    /// The SSRF guard refused the address.
    #[error("{0}")]
    Blocked(String),
    /// Connection or protocol failure.
    #[error("upstream failed: {0}")]
    Transport(String),
    /// The playlist was larger than allowed.
    #[error("upstream playlist larger than {MAX_PLAYLIST} bytes")]
    TooLarge,
}

/// Status line and passed headers of an upstream response.
#[derive(Debug, Clone)]
pub struct Head {
    /// Upstream status (200 or 206).
    pub status: u16,
    /// Headers passed to the viewer.
    pub headers: HeaderMap,
    /// The upstream's `Content-Type`, for the relay to judge; never passed as is.
    pub content_type: Option<String>,
}

/// A body stream handed to one viewer.
pub type BodyStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

type FlightKey = (String, String);

/// A coalesced playlist fetch: final URL and text, shared by requests within a refresh period.
type PlaylistCell = Arc<OnceCell<Result<(String, String), UpstreamError>>>;

/// Counters the relay exposes in `/metrics` (clones of the registered metrics).
#[derive(Clone, Default)]
pub struct UpstreamStats {
    /// Upstream requests started.
    pub fetches: Counter,
    /// Viewers served from an existing shared fetch.
    pub shared_hits: Counter,
    /// Bytes read from upstreams.
    pub bytes: Counter,
    /// Relay bodies being streamed to viewers right now.
    pub active: Gauge,
    /// Bytes held right now in shared segment fetches (the budget's use).
    pub shared_bytes: Gauge,
}

/// Counts a viewer's body stream as active until it is dropped.
struct Active(Gauge);

impl Active {
    fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Active(gauge.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a shared fetch publishes before its body.
type FlightHead = Result<Head, UpstreamError>;

/// The relay's upstream client.
pub struct Upstream {
    /// Where replicas share the newest version of each playlist, so a viewer whose requests
    /// alternate between replicas never gets an older version than it already had.
    shared: Option<Arc<dyn Store>>,
    client: reqwest::Client,
    guard: UpstreamGuard,
    flights: Arc<Flights<FlightKey, FlightHead>>,
    playlists: Mutex<HashMap<FlightKey, (Instant, PlaylistCell)>>,
    /// Counters.
    pub stats: UpstreamStats,
}

impl Upstream {
    /// A client under `guard`, sharing at most `cap` bytes of in-flight segments (one fetch at
    /// most half of it), counting in `stats`.
    pub fn new(guard: &UpstreamGuard, cap: usize, stats: UpstreamStats) -> Result<Self, reqwest::Error> {
        // No automatic Referer on redirects: it would carry the previous URL's query (a CDN
        // token) to the next host.
        let client = crate::net::client_builder(guard).referer(false).pool_max_idle_per_host(32).build()?;
        Ok(Upstream {
            shared: None,
            client,
            guard: guard.clone(),
            flights: Arc::new(Flights::new(cap, cap / 2, stats.shared_bytes.clone())),
            playlists: Mutex::default(),
            stats,
        })
    }

    /// Shares playlist versions with other replicas through `store`.
    pub fn sharing_playlists(mut self, store: Arc<dyn Store>) -> Self {
        self.shared = Some(store);
        self
    }

    fn request(
        &self,
        url: &Url,
        headers: &[(String, String)],
        range: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        self.guard.check_url(url).map_err(|e| UpstreamError::Blocked(e.to_string()))?;
        let mut builder = self.client.get(url.clone());
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(range) = range {
            builder = builder.header(header::RANGE, range);
        }
        Ok(builder)
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::Response, UpstreamError> {
        self.stats.fetches.inc();
        let response = tokio::time::timeout(HEAD_TIMEOUT, builder.send())
            .await
            .map_err(|_| UpstreamError::Timeout)?
            .map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpstreamError::Status(status.as_u16()));
        }
        Ok(response)
    }

    /// Fetches a playlist's text and final URL (after redirects); identical requests within
    /// a refresh period share one upstream fetch. With a shared store, the version served is
    /// never older than the newest any replica has: each replica publishes a version newer than
    /// the published one, and takes the published one when it is newer than its own.
    pub async fn playlist(
        &self,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<(Url, String), UpstreamError> {
        let key = (url.to_string(), format!("{headers:?}"));
        let shared_key = self.shared.as_ref().map(|_| keys::playlist(&hash_hex(&key.0, &key.1)));
        let cell = {
            let mut map = self.playlists.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, (at, _)| at.elapsed() < PLAYLIST_COALESCE);
            map.entry(key).or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new()))).1.clone()
        };
        let (mut final_url, mut text) = cell
            .get_or_init(|| async {
                let response = self.send(self.request(url, headers, None)?).await?;
                let final_url = response.url().to_string();
                let body = read_capped(response, MAX_PLAYLIST).await?;
                self.stats.bytes.inc_by(body.len() as u64);
                Ok((final_url, String::from_utf8_lossy(&body).into_owned()))
            })
            .await
            .clone()?;
        if let (Some(store), Some(shared_key)) = (&self.shared, shared_key) {
            let published =
                store.get(&shared_key).await.and_then(|v| serde_json::from_slice::<Shared>(&v).ok());
            let ours = playlist_end(&text);
            match published {
                Some(theirs) if theirs.end > ours => (final_url, text) = (theirs.url, theirs.text),
                Some(theirs) if theirs.end == ours => {}
                _ => {
                    let version = Shared { end: ours, url: final_url.clone(), text: text.clone() };
                    let value = serde_json::to_vec(&version).unwrap_or_default();
                    store.put(&shared_key, value, SHARED_PLAYLIST_TTL).await;
                }
            }
        }
        let final_url = Url::parse(&final_url)
            .map_err(|e| UpstreamError::Transport(format!("upstream redirected to an invalid URL: {e}")))?;
        Ok((final_url, text))
    }

    /// Streams a segment, key or map: joins an in-flight fetch of the same URL and range, or
    /// starts one (shared while the budget allows, pass-through otherwise).
    pub async fn stream(
        self: &Arc<Self>,
        url: &Url,
        headers: &[(String, String)],
        range: Option<&str>,
    ) -> Result<(Head, BodyStream), UpstreamError> {
        let key = (url.to_string(), range.unwrap_or_default().to_string());
        match self.flights.join(&key) {
            Joined::Shared(viewer) => {
                self.stats.shared_hits.inc();
                // A body asked for again after it arrived is hot: it moves into a mapped file
                // once, and from then on every viewer is sent it without a copy (`shm`).
                viewer.promote(shm::MIN_MAPPED, shm::ShmWriter::whole);
                self.viewer(viewer).await
            }
            Joined::Started(viewer, filler) => {
                let builder = self.request(url, headers, range);
                tokio::spawn(self.clone().fill(filler, builder));
                self.viewer(viewer).await
            }
            Joined::Full => self.pass_through(url, headers, range).await,
        }
    }

    /// The upstream side of a shared fetch: head, then chunks into the flight until the end, a
    /// failure, or the last viewer leaving.
    async fn fill(
        self: Arc<Self>,
        filler: Filler<FlightKey, FlightHead>,
        builder: Result<reqwest::RequestBuilder, UpstreamError>,
    ) {
        let response = match builder {
            Ok(b) => tokio::select! {
                response = self.send(b) => response,
                () = filler.cancelled() => return,
            },
            Err(e) => Err(e),
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                filler.head(Err(e), false);
                filler.finish(Ok(()));
                return;
            }
        };
        filler.head(Ok(head_of(&response)), true);
        let mut body = response.bytes_stream();
        loop {
            let next = tokio::select! {
                next = body.next() => next,
                () = filler.cancelled() => return,
            };
            match next {
                Some(Ok(chunk)) => {
                    self.stats.bytes.inc_by(chunk.len() as u64);
                    if !filler.push(chunk).await {
                        return;
                    }
                }
                Some(Err(e)) => {
                    filler.finish(Err(format!("upstream read failed: {}", message(e))));
                    return;
                }
                None => break,
            }
        }
        let lingering = filler.finish_and_linger();
        // Late viewers of a finished fetch still share it for a moment, then it leaves.
        tokio::time::sleep(LINGER).await;
        lingering.expire();
    }

    /// A viewer of a shared flight: waits for the head, then streams chunks as they arrive.
    async fn viewer(&self, viewer: Viewer<FlightHead>) -> Result<(Head, BodyStream), UpstreamError> {
        let head = viewer
            .head()
            .await
            .unwrap_or_else(|| Err(UpstreamError::Transport("upstream read stopped".into())))?;
        // The viewer counts as active while its stream (which carries `active`) lives.
        let active = Active::new(&self.stats.active);
        let body = futures_util::stream::unfold((viewer, active), |(mut viewer, active)| async move {
            let item = viewer.next().await?;
            Some((item.map_err(std::io::Error::other), (viewer, active)))
        });
        Ok((head, Box::pin(body)))
    }

    async fn pass_through(
        &self,
        url: &Url,
        headers: &[(String, String)],
        range: Option<&str>,
    ) -> Result<(Head, BodyStream), UpstreamError> {
        let response = self.send(self.request(url, headers, range)?).await?;
        let head = head_of(&response);
        let stats = self.stats.clone();
        let active = Active::new(&stats.active);
        let body = response.bytes_stream().map(move |chunk| {
            let _viewer = &active;
            let chunk =
                chunk.map_err(|e| std::io::Error::other(format!("upstream read failed: {}", message(e))))?;
            stats.bytes.inc_by(chunk.len() as u64);
            Ok(chunk)
        });
        tracing::debug!(url = %redact(url), "relay pass-through (shared budget full)");
        Ok((head, Box::pin(body)))
    }

    /// Bytes currently held in shared buffers.
    pub fn held_bytes(&self) -> usize {
        self.flights.held_bytes()
    }
}

/// A playlist version as replicas share it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Shared {
    /// [`playlist_end`] of `text`.
    end: u64,
    url: String,
    text: String,
}

/// How long a shared playlist version is kept (a live playlist is reloaded every few seconds).
const SHARED_PLAYLIST_TTL: Duration = Duration::from_secs(10);

/// How far a live playlist has got: its media sequence plus its segment count (what the next
/// segment's number will be). Master playlists and unparsable text count as 0.
pub fn playlist_end(text: &str) -> u64 {
    let mut sequence = 0u64;
    let mut segments = 0u64;
    for line in text.lines() {
        if let Some(n) = line.trim().strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = n.trim().parse().unwrap_or(0);
        } else if line.starts_with("#EXTINF") {
            segments += 1;
        }
    }
    sequence.saturating_add(segments)
}

/// A short hex id of a playlist request (URL and headers), for its store key.
fn hash_hex(url: &str, headers: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(url.as_bytes());
    hasher.update([0]);
    hasher.update(headers.as_bytes());
    hex::encode(&hasher.finalize()[..12])
}

/// Reads a body as it streams and stops as soon as it exceeds `cap` (decompressed bytes, so a
/// compression bomb stops there too); an announced larger `Content-Length` fails at once.
pub async fn read_capped(response: reqwest::Response, cap: usize) -> Result<Vec<u8>, UpstreamError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(UpstreamError::TooLarge);
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(classify)?;
        if body.len() + chunk.len() > cap {
            return Err(UpstreamError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn head_of(response: &reqwest::Response) -> Head {
    let mut headers = HeaderMap::new();
    for name in PASSED {
        if let Some(value) = response.headers().get(&name) {
            headers.insert(name, value.clone());
        }
    }
    if !headers.contains_key(header::ACCEPT_RANGES) {
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Head { status: response.status().as_u16(), headers, content_type }
}

/// A reqwest error's chain without its URL (which may carry a CDN token).
fn message(e: reqwest::Error) -> String {
    crate::net::error_chain(&e.without_url())
}

fn classify(e: reqwest::Error) -> UpstreamError {
    match crate::net::classify(&e.without_url()) {
        Failure::Refused(chain) => UpstreamError::Blocked(chain),
        Failure::Timeout => UpstreamError::Timeout,
        Failure::Transport(chain) => UpstreamError::Transport(chain),
    }
}

#[cfg(test)]
mod playlist_versions {
    use super::playlist_end;

    #[test]
    fn a_live_playlist_is_as_far_as_its_next_segment_number() {
        assert_eq!(
            playlist_end("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n"),
            43
        );
        assert_eq!(playlist_end("#EXTM3U\n#EXTINF:2,\na.ts\n"), 1, "no sequence tag: it starts at 0");
        assert_eq!(playlist_end("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"), 0, "a master playlist");
        assert_eq!(playlist_end("#EXT-X-MEDIA-SEQUENCE:x\n"), 0);
    }
}

#[cfg(test)]
mod tests {
    //! The shared fetch against a real HTTP server on 127.0.0.1:0 (no testbed): one upstream
    //! request for N concurrent viewers, identical bytes to each, failed fetches never joined,
    //! and a spent budget that stops sharing without losing bytes.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{Router, body::Body, extract::State, http::StatusCode, response::Response, routing::get};

    use super::*;

    /// A segment body: 256 KiB of bytes that differ from chunk to chunk, so a torn or mixed-up
    /// buffer would show.
    fn segment() -> Vec<u8> {
        (0..256 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    /// `/seg.ts` streams [`segment`] in 16 KiB chunks with a pause between them, so viewers
    /// arrive while it is still in flight; `/flaky.ts` fails its first answer (head: 500, or
    /// body cut after one chunk with `?cut`) and serves the segment after. Counts requests.
    async fn origin() -> (Url, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        async fn seg(State(hits): State<Arc<AtomicUsize>>) -> Response {
            hits.fetch_add(1, Ordering::SeqCst);
            let chunks: Vec<Bytes> = segment().chunks(16 * 1024).map(Bytes::copy_from_slice).collect();
            let body = futures_util::stream::iter(chunks).then(|chunk| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, std::io::Error>(chunk)
            });
            Response::new(Body::from_stream(body))
        }
        async fn flaky(
            State(hits): State<Arc<AtomicUsize>>,
            axum::extract::RawQuery(query): axum::extract::RawQuery,
        ) -> Response {
            if hits.fetch_add(1, Ordering::SeqCst) > 0 {
                return Response::new(Body::from(segment()));
            }
            if query.as_deref() != Some("cut") {
                return Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(Body::empty())
                    .unwrap();
            }
            let first = Bytes::copy_from_slice(&segment()[..16 * 1024]);
            // The pause lets the head and first chunk leave before the connection is cut.
            let body = futures_util::stream::iter([Ok(first), Err(std::io::Error::other("origin died"))])
                .then(|item| async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    item
                });
            Response::new(Body::from_stream(body))
        }
        let app =
            Router::new().route("/seg.ts", get(seg)).route("/flaky.ts", get(flaky)).with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (Url::parse(&format!("http://{addr}/")).unwrap(), hits)
    }

    fn upstream(base: &Url, cap: usize) -> Arc<Upstream> {
        let guard = UpstreamGuard::new(&[format!("127.0.0.1:{}", base.port().unwrap())]);
        Arc::new(Upstream::new(&guard, cap, UpstreamStats::default()).unwrap())
    }

    async fn read(body: BodyStream) -> Result<Vec<u8>, std::io::Error> {
        let chunks: Vec<Bytes> = body.collect::<Vec<_>>().await.into_iter().collect::<Result<_, _>>()?;
        Ok(chunks.concat())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_viewers_of_a_segment_cause_one_fetch_and_get_identical_bytes() {
        let (base, hits) = origin().await;
        let upstream = upstream(&base, 64 << 20);
        let url = base.join("seg.ts").unwrap();
        let viewers: Vec<_> = (0..20)
            .map(|_| {
                let (upstream, url) = (upstream.clone(), url.clone());
                tokio::spawn(async move {
                    let (head, body) = upstream.stream(&url, &[], None).await.unwrap();
                    (head.status, read(body).await.unwrap())
                })
            })
            .collect();
        let expected = segment();
        for viewer in viewers {
            let (status, bytes) = viewer.await.unwrap();
            assert_eq!(status, 200);
            assert!(bytes == expected, "a viewer got {} other bytes", bytes.len());
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1, "one upstream request");
        assert_eq!(upstream.stats.fetches.get(), 1);
        assert_eq!(upstream.stats.shared_hits.get(), 19);
        assert_eq!(upstream.stats.bytes.get(), expected.len() as u64, "upstream bytes counted once");
        // Another range of the same URL is another resource: its own fetch.
        let (_, body) = upstream.stream(&url, &[], Some("bytes=0-99")).await.unwrap();
        drop(body);
        assert_eq!(hits.load(Ordering::SeqCst), 2, "a range is not joined to the whole");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_head_is_not_joined_again() {
        let (base, hits) = origin().await;
        let upstream = upstream(&base, 64 << 20);
        let url = base.join("flaky.ts").unwrap();
        let err = upstream.stream(&url, &[], None).await.err().expect("the 500 fails the fetch");
        assert_eq!(err, UpstreamError::Status(500));
        let (_, body) = upstream.stream(&url, &[], None).await.expect("the retry fetches again");
        assert!(read(body).await.unwrap() == segment());
        assert_eq!(hits.load(Ordering::SeqCst), 2, "the retry was a new upstream request");
        assert_eq!(upstream.stats.shared_hits.get(), 0, "nobody joined the failed fetch");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_cut_short_fails_its_viewer_and_is_not_joined_again() {
        let (base, hits) = origin().await;
        let upstream = upstream(&base, 64 << 20);
        let url = base.join("flaky.ts?cut").unwrap();
        let (_, body) = upstream.stream(&url, &[], None).await.unwrap();
        let err = read(body).await.expect_err("the cut body is an error, not a short segment");
        assert!(err.to_string().contains("upstream read failed"), "{err}");
        assert!(!err.to_string().contains("127.0.0.1"), "no upstream URL in errors: {err}");
        let (_, body) = upstream.stream(&url, &[], None).await.unwrap();
        assert!(read(body).await.unwrap() == segment());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(upstream.stats.shared_hits.get(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_a_small_budget_fetches_stop_being_shared_but_lose_no_byte() {
        let (base, hits) = origin().await;
        // 64 KiB for everything: the 256 KiB segment cannot stay shared.
        let upstream = upstream(&base, 64 * 1024);
        let url = base.join("seg.ts").unwrap();
        let first = upstream.stream(&url, &[], None).await.unwrap().1;
        let expected = segment();
        assert!(read(first).await.unwrap() == expected);
        let second = upstream.stream(&url, &[], None).await.unwrap().1;
        assert!(read(second).await.unwrap() == expected);
        assert_eq!(hits.load(Ordering::SeqCst), 2, "a detached fetch is not joined");
        assert_eq!(upstream.stats.shared_hits.get(), 0);
        assert_eq!(upstream.held_bytes(), 0, "every held chunk released once read");
    }
}
