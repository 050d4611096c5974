//! Master playlists fetched once per candidate: a CDN master changes only when the candidate
//! does (a token refresh brings a new URL), so `/live` variant requests and session tracks
//! resolve their variant from the cached master instead of fetching it again at every playlist
//! reload. Media playlists (a candidate without a master) are never cached.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use m3u8_rs::Playlist;
use url::Url;

use crate::{
    health::probe::variant_labels,
    relay::{HeaderScope, Relay, upstream::UpstreamError},
    store::Candidate,
};

/// A cached master is fetched again after this long even if its candidate did not change.
const MAX_AGE: Duration = Duration::from_secs(300);
/// Masters kept at once; past it the oldest goes.
const CAPACITY: usize = 256;

/// One variant of a master.
#[derive(Debug, Clone)]
pub struct VariantRef {
    /// `720p`, `1200k`, … (as `/streams` names them).
    pub label: String,
    /// Absolute URL.
    pub url: Url,
    /// Resolution height, when given.
    pub height: Option<u64>,
    /// Advertised bandwidth.
    pub bandwidth: u64,
}

/// A candidate's master playlist.
#[derive(Debug)]
pub struct Master {
    /// Where it was finally served from (after redirects).
    pub base: Url,
    /// Its text, for rewriting.
    pub text: String,
    /// Where the candidate's headers may go.
    pub scope: HeaderScope,
    /// Its variants.
    pub variants: Vec<VariantRef>,
}

/// What a candidate URL answered.
pub enum Resolved {
    /// A master (cached).
    Master(Arc<Master>),
    /// A media playlist: the stream is its own only variant.
    Media {
        /// Final URL.
        base: Url,
        /// Its text.
        text: String,
        /// Where the candidate's headers may go.
        scope: HeaderScope,
    },
}

/// The cache.
#[derive(Default)]
pub struct Masters {
    cached: Mutex<HashMap<String, (Instant, Arc<Master>)>>,
}

impl Masters {
    /// The candidate's master from the cache, or what its URL answers now.
    pub async fn resolve(&self, relay: &Relay, candidate: &Candidate) -> Result<Resolved, UpstreamError> {
        let key = format!("{}\n{:?}", candidate.url, candidate.headers);
        if let Some((at, master)) = self.lock().get(&key)
            && at.elapsed() < MAX_AGE
        {
            return Ok(Resolved::Master(master.clone()));
        }
        let url = Url::parse(&candidate.url)
            .map_err(|e| UpstreamError::Transport(format!("stored candidate URL: {e}")))?;
        let (base, text) = relay.upstream.playlist(&url, &candidate.headers).await?;
        let scope = HeaderScope::candidate(&candidate.headers, &url, &base);
        let Ok(Playlist::MasterPlaylist(parsed)) = m3u8_rs::parse_playlist_res(text.as_bytes()) else {
            return Ok(Resolved::Media { base, text, scope });
        };
        let variants = variant_labels(&parsed)
            .into_iter()
            .filter_map(|(label, v)| {
                Some(VariantRef {
                    label,
                    url: base.join(&v.uri).ok()?,
                    height: v.resolution.map(|r| r.height),
                    bandwidth: v.bandwidth,
                })
            })
            .collect();
        let master = Arc::new(Master { base, text, scope, variants });
        let mut cached = self.lock();
        cached.retain(|_, (at, _)| at.elapsed() < MAX_AGE);
        if cached.len() >= CAPACITY
            && let Some(oldest) = cached.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone())
        {
            cached.remove(&oldest);
        }
        cached.insert(key, (Instant::now(), master.clone()));
        Ok(Resolved::Master(master))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<Master>)>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }
}
