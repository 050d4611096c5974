//! The relay's upstream side: one pooled client behind the SSRF guard, playlist fetches
//! coalesced per refresh period, and single-flight segment fetches: the first viewer's fetch is
//! teed into a shared buffer that later viewers of the same URL (and range) read from while it
//! fills, so N viewers cause one upstream fetch. Shared buffers live in one byte-capped budget;
//! past the cap, requests pass through unshared. When every viewer of an unfinished fetch has
//! gone, the upstream read is cancelled.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{Notify, OnceCell};
use url::Url;

use crate::net::{Failure, UpstreamGuard, redact};

/// How long a finished shared fetch stays joinable.
const LINGER: Duration = Duration::from_secs(5);
/// How long a fetched playlist answers identical requests.
const PLAYLIST_COALESCE: Duration = Duration::from_millis(1000);
/// Largest playlist accepted.
const MAX_PLAYLIST: usize = 4 << 20;
/// Time to the upstream's response head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Response headers passed from upstream to viewers.
const PASSED: [HeaderName; 6] = [
    header::CONTENT_TYPE,
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
}

/// A body stream handed to one viewer.
pub type BodyStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// One shared, in-flight or lingering fetch.
struct Flight {
    state: Mutex<FlightState>,
    notify: Notify,
    viewers: AtomicUsize,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

#[derive(Default)]
struct FlightState {
    head: Option<Result<Head, UpstreamError>>,
    chunks: Vec<Bytes>,
    bytes: usize,
    finished: Option<Result<(), String>>,
    finished_at: Option<Instant>,
}

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

/// The relay's upstream client.
pub struct Upstream {
    client: reqwest::Client,
    guard: UpstreamGuard,
    flights: Mutex<HashMap<FlightKey, Arc<Flight>>>,
    held: Arc<AtomicUsize>,
    cap: usize,
    playlists: Mutex<HashMap<FlightKey, (Instant, PlaylistCell)>>,
    /// Counters.
    pub stats: UpstreamStats,
}

impl Upstream {
    /// A client under `guard`, sharing at most `cap` bytes of in-flight segments, counting in `stats`.
    pub fn new(guard: &UpstreamGuard, cap: usize, stats: UpstreamStats) -> Result<Self, reqwest::Error> {
        let client = crate::net::client_builder(guard).pool_max_idle_per_host(32).build()?;
        Ok(Upstream {
            client,
            guard: guard.clone(),
            flights: Mutex::default(),
            held: Arc::default(),
            cap,
            playlists: Mutex::default(),
            stats,
        })
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
    /// a refresh period share one upstream fetch.
    pub async fn playlist(
        &self,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<(Url, String), UpstreamError> {
        let key = (url.to_string(), format!("{headers:?}"));
        let cell = {
            let mut map = self.playlists.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, (at, _)| at.elapsed() < PLAYLIST_COALESCE);
            map.entry(key).or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new()))).1.clone()
        };
        let (final_url, text) = cell
            .get_or_init(|| async {
                let response = self.send(self.request(url, headers, None)?).await?;
                let final_url = response.url().to_string();
                if response.content_length().is_some_and(|n| n as usize > MAX_PLAYLIST) {
                    return Err(UpstreamError::TooLarge);
                }
                let mut body = Vec::new();
                let mut stream = response.bytes_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(classify)?;
                    if body.len() + chunk.len() > MAX_PLAYLIST {
                        return Err(UpstreamError::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                self.stats.bytes.inc_by(body.len() as u64);
                Ok((final_url, String::from_utf8_lossy(&body).into_owned()))
            })
            .await
            .clone()?;
        let final_url = Url::parse(&final_url).map_err(|e| UpstreamError::Transport(e.to_string()))?;
        Ok((final_url, text))
    }

    /// Streams a segment, key or map: joins an in-flight fetch of the same URL and range, or
    /// starts one (shared when the budget allows, pass-through otherwise).
    pub async fn stream(
        self: &Arc<Self>,
        url: &Url,
        headers: &[(String, String)],
        range: Option<&str>,
    ) -> Result<(Head, BodyStream), UpstreamError> {
        let key = (url.to_string(), range.unwrap_or_default().to_string());
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            self.sweep(&mut flights);
            if let Some(flight) = flights.get(&key) {
                self.stats.shared_hits.inc();
                flight.viewers.fetch_add(1, Ordering::SeqCst);
                Some(flight.clone())
            } else if self.held.load(Ordering::Relaxed) < self.cap {
                let flight = Arc::new(Flight {
                    state: Mutex::default(),
                    notify: Notify::new(),
                    viewers: AtomicUsize::new(1),
                    task: Mutex::new(None),
                });
                flights.insert(key.clone(), flight.clone());
                let builder = self.request(url, headers, range);
                let this = self.clone();
                let fill = flight.clone();
                let handle = tokio::spawn(async move { this.fill(fill, builder).await });
                *flight.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle.abort_handle());
                Some(flight)
            } else {
                None
            }
        };
        match flight {
            Some(flight) => self.viewer(key, flight).await,
            None => self.pass_through(url, headers, range).await,
        }
    }

    /// Drops lingering finished flights (and their budget).
    fn sweep(&self, flights: &mut HashMap<FlightKey, Arc<Flight>>) {
        flights.retain(|_, flight| {
            let state = flight.state.lock().unwrap_or_else(|p| p.into_inner());
            let keep = state.finished_at.is_none_or(|at| at.elapsed() < LINGER);
            if !keep {
                self.held.fetch_sub(state.bytes, Ordering::Relaxed);
            }
            keep
        });
    }

    /// The upstream side of a shared fetch: head, then chunks into the buffer.
    async fn fill(
        self: Arc<Self>,
        flight: Arc<Flight>,
        builder: Result<reqwest::RequestBuilder, UpstreamError>,
    ) {
        let response = match builder {
            Ok(b) => self.send(b).await,
            Err(e) => Err(e),
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let mut state = flight.state.lock().unwrap_or_else(|p| p.into_inner());
                state.head = Some(Err(e));
                state.finished = Some(Ok(()));
                state.finished_at = Some(Instant::now());
                drop(state);
                flight.notify.notify_waiters();
                return;
            }
        };
        let head = head_of(&response);
        flight.state.lock().unwrap_or_else(|p| p.into_inner()).head = Some(Ok(head));
        flight.notify.notify_waiters();
        let mut body = response.bytes_stream();
        let result = loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    self.held.fetch_add(chunk.len(), Ordering::Relaxed);
                    self.stats.bytes.inc_by(chunk.len() as u64);
                    let mut state = flight.state.lock().unwrap_or_else(|p| p.into_inner());
                    state.bytes += chunk.len();
                    state.chunks.push(chunk);
                    drop(state);
                    flight.notify.notify_waiters();
                }
                Some(Err(e)) => break Err(format!("upstream read failed: {e}")),
                None => break Ok(()),
            }
        };
        let mut state = flight.state.lock().unwrap_or_else(|p| p.into_inner());
        state.finished = Some(result);
        state.finished_at = Some(Instant::now());
        drop(state);
        flight.notify.notify_waiters();
    }

    /// A viewer of a shared flight: waits for the head, then streams chunks as they arrive.
    async fn viewer(
        self: &Arc<Self>,
        key: FlightKey,
        flight: Arc<Flight>,
    ) -> Result<(Head, BodyStream), UpstreamError> {
        let mut departure =
            Departure { upstream: self.clone(), key: key.clone(), flight: flight.clone(), armed: true };
        let head = loop {
            let notified = flight.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(head) = flight.state.lock().unwrap_or_else(|p| p.into_inner()).head.clone() {
                break head;
            }
            notified.await;
        };
        let head = match head {
            Ok(head) => head,
            Err(e) => {
                // A failed fetch must not be shared with later viewers: retry fresh next time.
                self.flights.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                departure.armed = false;
                flight.viewers.fetch_sub(1, Ordering::SeqCst);
                return Err(e);
            }
        };
        let active = Active::new(&self.stats.active);
        // The viewer counts as active while its stream (which carries `active`) lives.
        let body = futures_util::stream::unfold(
            (departure, 0usize, active),
            |(departure, index, active)| async move {
                if index == usize::MAX {
                    return None; // the error was reported; end the stream
                }
                let flight = departure.flight.clone();
                loop {
                    let notified = flight.notify.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    // Decide under the lock, wait without it.
                    let next = {
                        let state = flight.state.lock().unwrap_or_else(|p| p.into_inner());
                        match (state.chunks.get(index), &state.finished) {
                            (Some(chunk), _) => Some(Some(Ok(chunk.clone()))),
                            (None, Some(Ok(()))) => Some(None),
                            (None, Some(Err(e))) => Some(Some(Err(std::io::Error::other(e.clone())))),
                            (None, None) => None,
                        }
                    };
                    return match next {
                        None => {
                            notified.await;
                            continue;
                        }
                        Some(Some(Ok(chunk))) => Some((Ok(chunk), (departure, index + 1, active))),
                        Some(Some(Err(e))) => Some((Err(e), (departure, usize::MAX, active))),
                        Some(None) => None,
                    };
                }
            },
        );
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
            let chunk = chunk.map_err(std::io::Error::other)?;
            stats.bytes.inc_by(chunk.len() as u64);
            Ok(chunk)
        });
        tracing::debug!(url = %redact(url), "relay pass-through (shared budget full)");
        Ok((head, Box::pin(body)))
    }

    /// Bytes currently held in shared buffers.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// Leaves a flight when a viewer's stream is dropped; the last viewer of an unfinished fetch
/// cancels the upstream read.
struct Departure {
    upstream: Arc<Upstream>,
    key: FlightKey,
    flight: Arc<Flight>,
    armed: bool,
}

impl Drop for Departure {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.flight.viewers.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let finished = self.flight.state.lock().unwrap_or_else(|p| p.into_inner()).finished.is_some();
        if finished {
            return;
        }
        if let Some(task) = self.flight.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        let mut flights = self.upstream.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.get(&self.key).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
            flights.remove(&self.key);
            let bytes = self.flight.state.lock().unwrap_or_else(|p| p.into_inner()).bytes;
            self.upstream.held.fetch_sub(bytes, Ordering::Relaxed);
        }
        tracing::debug!("last viewer left; upstream read cancelled");
    }
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
    Head { status: response.status().as_u16(), headers }
}

fn classify(e: reqwest::Error) -> UpstreamError {
    match crate::net::classify(&e) {
        Failure::Refused(chain) => UpstreamError::Blocked(chain),
        Failure::Timeout => UpstreamError::Timeout,
        Failure::Transport(chain) => UpstreamError::Transport(chain),
    }
}
