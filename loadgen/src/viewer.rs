//! One simulated hls.js viewer: loads a master playlist, picks a variant, reloads the media
//! playlist every target duration and fetches each new segment once, in order, starting three
//! segments behind the live edge, following the relay URIs as listed. Each viewer has its own
//! HTTP client (its own connections) from its own loopback address, as separate browsers would.
//! What it measures goes to the shared [`Recorder`], which the ramp empties at every step.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use url::Url;

use crate::hls;

/// How many segments behind the live edge a viewer starts (hls.js `liveSyncDurationCount`).
pub const START_BEHIND: usize = 3;
/// Longest a single request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What the viewers measured since the last [`Recorder::take`].
#[derive(Default)]
pub struct Samples {
    /// Segment times to last byte.
    pub segment_times: Vec<Duration>,
    /// Playlist (master and media) times to last byte.
    pub playlist_times: Vec<Duration>,
    /// Viewers with a segment slower than its duration, or a failed one.
    pub stalled: HashSet<usize>,
    /// Failed requests (status or transport).
    pub errors: usize,
    /// Segment bytes delivered.
    pub bytes: u64,
    /// Distinct segment paths fetched (without the query).
    pub distinct_segments: HashSet<String>,
    /// Longest segment duration seen (EXTINF, seconds).
    pub segment_duration: f64,
    /// Per variant label: segment bytes and seconds of media, to measure the bit rate.
    pub per_variant: HashMap<String, (u64, f64)>,
}

/// Where the viewers put what they measure.
#[derive(Default)]
pub struct Recorder {
    samples: Mutex<Samples>,
    /// Viewers that fetched the segments they started behind and reached the live edge.
    caught_up: AtomicUsize,
}

impl Recorder {
    /// How many viewers reached the live edge since they started.
    pub fn caught_up(&self) -> usize {
        self.caught_up.load(Ordering::Relaxed)
    }

    /// What was measured since the last call, and a fresh start.
    pub fn take(&self) -> Samples {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Samples> {
        self.samples.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One viewer's part of the audience.
pub struct Viewer {
    /// Index among all viewers (stall accounting, source address).
    pub id: usize,
    /// The master playlist it opens.
    pub master: Url,
    /// Which of the master's variants it picks (modulo their count).
    pub variant: usize,
    /// Delay before its first request.
    pub start_after: Duration,
}

impl Viewer {
    /// Watches until `stop` is set (every wait is bounded by a target duration, every request
    /// by [`REQUEST_TIMEOUT`]).
    pub async fn run(self, recorder: Arc<Recorder>, stop: Arc<AtomicBool>) {
        let client = match client(self.id) {
            Ok(client) => client,
            Err(e) => {
                eprintln!("viewer {}: no HTTP client: {e}", self.id);
                return;
            }
        };
        tokio::time::sleep(self.start_after).await;
        let mut caught_up = false;
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.watch(&client, &recorder, &stop, &mut caught_up).await {
                recorder.lock().errors += 1;
                recorder.lock().stalled.insert(self.id);
                if recorder.lock().errors < 20 {
                    eprintln!("viewer {}: {e}; starting over", self.id);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// One playback from the master on; returns on `stop` or at the first failure.
    async fn watch(
        &self,
        client: &reqwest::Client,
        recorder: &Recorder,
        stop: &AtomicBool,
        caught_up: &mut bool,
    ) -> anyhow::Result<()> {
        let (master, _) = fetch(client, &self.master, recorder, Kind::Playlist).await?;
        let master = String::from_utf8_lossy(&master).into_owned();
        let variants = hls::variants(&master);
        anyhow::ensure!(!variants.is_empty(), "{} lists no variant", self.master);
        let chosen = &variants[self.variant % variants.len()];
        let media_url = self.master.join(chosen)?;
        let label = media_url.path().rsplit('/').next().unwrap_or("").trim_end_matches(".m3u8").to_string();
        let mut next: Option<u64> = None;
        while !stop.load(Ordering::Relaxed) {
            let reloaded = Instant::now();
            let (text, _) = fetch(client, &media_url, recorder, Kind::Playlist).await?;
            let playlist = hls::media(&String::from_utf8_lossy(&text))
                .ok_or_else(|| anyhow::anyhow!("{media_url} is not a media playlist"))?;
            let first_new = *next.get_or_insert_with(|| {
                let at = playlist.segments.len().saturating_sub(START_BEHIND);
                playlist.segments.get(at).map_or(playlist.media_sequence, |s| s.seq)
            });
            let mut fetched = 0;
            for segment in playlist.segments.iter().filter(|s| s.seq >= first_new) {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let url = media_url.join(&segment.uri)?;
                let (body, took) = match fetch(client, &url, recorder, Kind::Segment).await {
                    Ok(ok) => ok,
                    Err(e) => {
                        // A failed segment is a stall in a player; it skips to the next one.
                        recorder.lock().stalled.insert(self.id);
                        recorder.lock().errors += 1;
                        eprintln!("viewer {}: segment {}: {e}", self.id, segment.seq);
                        next = Some(segment.seq + 1);
                        continue;
                    }
                };
                let mut samples = recorder.lock();
                if took.as_secs_f64() > segment.duration {
                    samples.stalled.insert(self.id);
                }
                samples.bytes += body.len() as u64;
                samples.distinct_segments.insert(url.path().to_string());
                samples.segment_duration = samples.segment_duration.max(segment.duration);
                let v = samples.per_variant.entry(label.clone()).or_default();
                v.0 += body.len() as u64;
                v.1 += segment.duration;
                drop(samples);
                next = Some(segment.seq + 1);
                fetched += 1;
            }
            // Everything listed is fetched: at the live edge (counted once per viewer).
            if !*caught_up {
                *caught_up = true;
                recorder.caught_up.fetch_add(1, Ordering::Relaxed);
            }
            // hls.js reloads a live playlist every target duration, sooner (half) when the last
            // reload brought nothing new.
            let target = Duration::from_secs_f64(playlist.target_duration.clamp(0.5, 30.0));
            let wait = if fetched == 0 { target / 2 } else { target };
            if let Some(left) = (reloaded + wait).checked_duration_since(Instant::now()) {
                tokio::time::sleep(left).await;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Playlist,
    Segment,
}

/// GET `url` to the last byte; records the time (playlists and segments apart).
async fn fetch(
    client: &reqwest::Client,
    url: &Url,
    recorder: &Recorder,
    kind: Kind,
) -> anyhow::Result<(Vec<u8>, Duration)> {
    let started = Instant::now();
    let mut response = client.get(url.clone()).send().await?;
    anyhow::ensure!(response.status().is_success(), "{} answered {}", url.path(), response.status());
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0).min(16 << 20) as usize);
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    let took = started.elapsed();
    let mut samples = recorder.lock();
    match kind {
        Kind::Playlist => samples.playlist_times.push(took),
        Kind::Segment => samples.segment_times.push(took),
    }
    Ok((body, took))
}

/// A client of its own, connecting from loopback address `127.1.x.y` so pitwall sees one client
/// address per viewer (its per-address connection cap stays out of the way, as with real viewers).
fn client(id: usize) -> reqwest::Result<reqwest::Client> {
    let ip = std::net::Ipv4Addr::new(127, 1, (id / 250) as u8, (id % 250 + 1) as u8);
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(ip))
        .pool_max_idle_per_host(2)
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
}
