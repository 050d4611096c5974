//! Probing one candidate, step by step: `head` (HEAD, falling back to a ranged GET when HEAD is
//! refused with 405/403/501), `playlist` (fetch and parse; a master's variants are fetched too),
//! `empty` (a media playlist without segments), `stale` (a live playlist that stopped moving),
//! and `segment` (a ranged read of the newest segment, for throughput). Any failure names its
//! step; success carries the measurements the board keeps.
//!
//! Every body is read as a stream that stops at its cap (decompressed bytes, so a compression
//! bomb stops there too), no message carries the probed URL (it may hold a CDN token), and the
//! candidate's headers go only to its own origin (and the one its URL redirected to).

use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use m3u8_rs::Playlist;
use reqwest::{StatusCode, header};
use url::Url;

use super::board::{Measurement, StepError, Variant};
use crate::{
    net::{UpstreamGuard, error_chain},
    relay::HeaderScope,
};

/// Largest playlist read by a probe.
const MAX_PLAYLIST: usize = 4 << 20;
/// Bytes read from the newest segment.
const SEGMENT_SAMPLE: u64 = 256 * 1024;
/// Variants of a master that are fetched.
const MAX_VARIANTS: usize = 4;

/// Probes candidates.
pub struct Prober {
    client: reqwest::Client,
    guard: UpstreamGuard,
}

/// What the previous probe saw, to judge staleness.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    /// Media sequence and last segment URI.
    pub position: Option<(u64, String)>,
    /// When it last moved (Unix seconds).
    pub moved_at: Option<i64>,
}

fn fail(step: &str, message: impl Into<String>) -> StepError {
    StepError { step: step.into(), message: message.into() }
}

/// Labels for a master's variants: `720p` from the resolution, else `1200k`; duplicates get `-2`.
pub fn variant_labels(master: &m3u8_rs::MasterPlaylist) -> Vec<(String, &m3u8_rs::VariantStream)> {
    let mut out: Vec<(String, &m3u8_rs::VariantStream)> = Vec::new();
    for v in master.variants.iter().filter(|v| !v.is_i_frame) {
        let base = match &v.resolution {
            Some(r) => format!("{}p", r.height),
            None => format!("{}k", v.bandwidth / 1000),
        };
        let mut label = base.clone();
        let mut n = 2;
        while out.iter().any(|(l, _)| *l == label) {
            label = format!("{base}-{n}");
            n += 1;
        }
        out.push((label, v));
    }
    out
}

impl Prober {
    /// A prober with its own guarded client.
    pub fn new(guard: &UpstreamGuard, timeout: Duration) -> Result<Self, reqwest::Error> {
        // No automatic Referer on redirects: it would carry the previous URL's token onwards.
        let client = crate::net::client_builder(guard).referer(false).timeout(timeout).build()?;
        Ok(Prober { client, guard: guard.clone() })
    }

    /// A request for the probe step `step`, with the candidate's headers; a guard refusal is
    /// reported at that step.
    fn request(
        &self,
        method: reqwest::Method,
        url: &Url,
        headers: &[(String, String)],
        step: &str,
    ) -> Result<reqwest::RequestBuilder, StepError> {
        self.guard.check_url(url).map_err(|e| fail(step, e.to_string()))?;
        let mut b = self.client.request(method, url.clone());
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        Ok(b)
    }

    /// Runs every step against `url` with `headers`.
    pub async fn probe(
        &self,
        url: &str,
        headers: &[(String, String)],
        previous: &Previous,
    ) -> Result<Measurement, StepError> {
        let url = Url::parse(url).map_err(|e| fail("head", format!("invalid URL: {e}")))?;
        self.head(&url, headers).await?;
        let started = Instant::now();
        let (final_url, text) = self.fetch_text(&url, headers, "playlist").await?;
        let latency_ms = started.elapsed().as_millis() as u64;
        // The candidate's headers go only to its own origin and the one it redirected to.
        let scope = HeaderScope::candidate(headers, &url, &final_url);
        let mut measurement = Measurement { latency_ms, ..Measurement::default() };
        let (media_url, media) = match m3u8_rs::parse_playlist_res(text.as_bytes()) {
            Ok(Playlist::MasterPlaylist(master)) => {
                let labels = variant_labels(&master);
                if labels.is_empty() {
                    return Err(fail("playlist", "master playlist lists no variants"));
                }
                measurement.variants = labels
                    .iter()
                    .map(|(label, v)| Variant {
                        label: label.clone(),
                        resolution: v.resolution.as_ref().map(|r| format!("{}x{}", r.width, r.height)),
                        bandwidth: Some(v.bandwidth),
                    })
                    .collect();
                let mut first = None;
                for (label, v) in labels.iter().take(MAX_VARIANTS) {
                    let variant_url = final_url
                        .join(&v.uri)
                        .map_err(|e| fail("variant", format!("{label}: bad URI: {e}")))?;
                    let (variant_final, text) =
                        self.fetch_text(&variant_url, scope.headers_for(&variant_url), "variant").await?;
                    let media = parse_media(&text).map_err(|m| fail("variant", format!("{label}: {m}")))?;
                    if media.segments.is_empty() {
                        return Err(fail("empty", format!("variant {label} has no segments")));
                    }
                    first.get_or_insert((variant_final, media));
                }
                first.expect("at least one variant was fetched")
            }
            Ok(Playlist::MediaPlaylist(media)) => (final_url, media),
            Err(_) => return Err(fail("playlist", "not a parsable HLS playlist")),
        };
        if media.segments.is_empty() {
            return Err(fail("empty", "media playlist has no segments"));
        }
        let last = media.segments.last().expect("not empty");
        let position = (media.media_sequence, last.uri.clone());
        let now = Utc::now().timestamp();
        if !media.end_list
            && previous.position.as_ref() == Some(&position)
            && previous.moved_at.is_some_and(|t| now - t > (media.target_duration as i64 * 3).max(6))
        {
            return Err(fail(
                "stale",
                format!("live playlist has not moved for {} s", now - previous.moved_at.unwrap_or(now)),
            ));
        }
        measurement.position = Some(position);
        if let Some(pdt) = last.program_date_time {
            let edge = pdt.timestamp_millis() as f64 / 1000.0 + f64::from(last.duration);
            measurement.live_edge_age_s =
                Some(((Utc::now().timestamp_millis() as f64 / 1000.0) - edge).max(0.0));
        }
        let segment_url = media_url.join(&last.uri).map_err(|e| fail("segment", format!("bad URI: {e}")))?;
        measurement.throughput_bps = Some(self.sample(&segment_url, scope.headers_for(&segment_url)).await?);
        Ok(measurement)
    }

    async fn head(&self, url: &Url, headers: &[(String, String)]) -> Result<(), StepError> {
        let status = self
            .request(reqwest::Method::HEAD, url, headers, "head")?
            .send()
            .await
            .map_err(|e| fail("head", message(e)))?
            .status();
        if status.is_success() {
            return Ok(());
        }
        if matches!(
            status,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::FORBIDDEN | StatusCode::NOT_IMPLEMENTED
        ) {
            let response = self
                .request(reqwest::Method::GET, url, headers, "head")?
                .header(header::RANGE, "bytes=0-1023")
                .send()
                .await
                .map_err(|e| fail("head", message(e)))?;
            if response.status().is_success() {
                return Ok(());
            }
            return Err(fail(
                "head",
                format!("HEAD answered {status}, ranged GET answered {}", response.status()),
            ));
        }
        Err(fail("head", format!("HTTP {status}")))
    }

    async fn fetch_text(
        &self,
        url: &Url,
        headers: &[(String, String)],
        step: &str,
    ) -> Result<(Url, String), StepError> {
        let response = self
            .request(reqwest::Method::GET, url, headers, step)?
            .send()
            .await
            .map_err(|e| fail(step, message(e)))?;
        if !response.status().is_success() {
            return Err(fail(step, format!("HTTP {}", response.status())));
        }
        let final_url = response.url().clone();
        let too_large = || fail(step, format!("playlist larger than {MAX_PLAYLIST} bytes"));
        if response.content_length().is_some_and(|n| n > MAX_PLAYLIST as u64) {
            return Err(too_large());
        }
        let bytes = match read_at_most(response, MAX_PLAYLIST).await.map_err(|m| fail(step, m))? {
            Read::Whole(bytes) => bytes,
            Read::Truncated(_) => return Err(too_large()),
        };
        Ok((final_url, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Reads the start of a segment; returns bits per second.
    async fn sample(&self, url: &Url, headers: &[(String, String)]) -> Result<u64, StepError> {
        let started = Instant::now();
        let response = self
            .request(reqwest::Method::GET, url, headers, "segment")?
            .header(header::RANGE, format!("bytes=0-{}", SEGMENT_SAMPLE - 1))
            .send()
            .await
            .map_err(|e| fail("segment", message(e)))?;
        if !response.status().is_success() {
            return Err(fail("segment", format!("HTTP {}", response.status())));
        }
        // An upstream that ignores the range still gets read only as far as the sample.
        let bytes =
            match read_at_most(response, SEGMENT_SAMPLE as usize).await.map_err(|m| fail("segment", m))? {
                Read::Whole(bytes) | Read::Truncated(bytes) => bytes,
            };
        if bytes.is_empty() {
            return Err(fail("segment", "empty segment"));
        }
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        Ok((bytes.len() as f64 * 8.0 / secs) as u64)
    }
}

/// A body read by [`read_at_most`].
enum Read {
    /// The whole body, within the cap.
    Whole(Vec<u8>),
    /// The first `cap` bytes; the body goes on (the rest was not read).
    Truncated(Vec<u8>),
}

/// Reads a body as it streams, stopping once it holds `cap` bytes.
async fn read_at_most(response: reqwest::Response, cap: usize) -> Result<Read, String> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(message)?;
        if body.len() + chunk.len() > cap {
            let room = cap - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok(Read::Truncated(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Read::Whole(body))
}

/// A reqwest error's chain without the URL (which may carry a CDN token).
fn message(e: reqwest::Error) -> String {
    error_chain(&e.without_url())
}

fn parse_media(text: &str) -> Result<m3u8_rs::MediaPlaylist, String> {
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MediaPlaylist(m)) => Ok(m),
        Ok(Playlist::MasterPlaylist(_)) => Err("expected a media playlist, got a master".into()),
        Err(_) => Err("not a parsable HLS playlist".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_resolution_or_bandwidth() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\na.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\nb.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1200000\nc.m3u8\n";
        let Ok(Playlist::MasterPlaylist(m)) = m3u8_rs::parse_playlist_res(text.as_bytes()) else { panic!() };
        let labels: Vec<String> = variant_labels(&m).into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["360p", "360p-2", "1200k"]);
    }
}
