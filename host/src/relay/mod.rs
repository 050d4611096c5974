//! The HLS relay: `playlist` rewrites playlists (pure), `token` seals what a relay URL fetches,
//! `upstream` fetches under the SSRF guard, `flight` shares one segment fetch among its viewers
//! under a byte budget, and [`Relay`] ties them together for `/proxy`, `/relay` and `/live`.

pub mod flight;
pub mod playlist;
pub mod token;
pub mod upstream;

use std::sync::Arc;

use url::Url;

use playlist::{RewriteError, UriKind};
use token::{RelayKey, RelayTarget};
use upstream::Upstream;

/// How long relay URLs of segments, keys and maps stay valid.
pub const MEDIA_TTL: i64 = 30 * 60;
/// How long relay URLs of child playlists stay valid (a whole session and then some).
pub const PLAYLIST_TTL: i64 = 8 * 3600;

/// Playlists larger than this are rewritten on the blocking pool, off the async workers.
pub const BLOCKING_REWRITE: usize = 256 * 1024;

/// The relay: key + upstream client.
pub struct Relay {
    /// Seals and opens relay tokens.
    pub key: RelayKey,
    /// Fetches upstream.
    pub upstream: Arc<Upstream>,
}

/// A relay token's kind letter.
pub fn kind_letter(kind: UriKind) -> char {
    match kind {
        UriKind::Playlist => 'p',
        UriKind::Segment => 's',
        UriKind::Key => 'k',
        UriKind::Map => 'm',
        UriKind::Data => 'd',
        UriKind::Steering => 'c',
    }
}

/// The last path segment of `url`, reduced to a safe file name, so players and tools that look
/// at extensions (`.ts`, `.m3u8`) see the upstream's.
pub fn file_name(url: &Url) -> String {
    let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
    let safe: String =
        last.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).take(64).collect();
    if safe.is_empty() { "x".into() } else { safe }
}

/// A short, stable id of an upstream resource: its URL without query or fragment, hashed.
pub fn resource_id(url: &Url) -> String {
    use sha2::{Digest, Sha256};
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    hex::encode(&Sha256::digest(bare.as_str().as_bytes())[..8])
}

impl Relay {
    /// The relay URL (path-absolute, so it points at this host) for `url` fetched with `headers`:
    /// `/relay/{id}/{file}?t={sealed}`. The path depends only on the upstream resource (scheme,
    /// host, path), never on its query, the time or the nonce, so a segment keeps its URI across
    /// playlist reloads and CDN token refreshes, as HLS requires of live playlists (players such
    /// as hls.js compare segment URIs without their query).
    pub fn url_for(&self, url: &Url, kind: UriKind, headers: &[(String, String)], now: i64) -> String {
        seal_url(&self.key, url, kind, headers, now)
    }

    /// Rewrites a playlist so every URI goes through this relay with `headers`. Large playlists
    /// are rewritten on the blocking pool.
    pub async fn rewrite(
        &self,
        text: &str,
        base: &Url,
        headers: &[(String, String)],
        now: i64,
    ) -> Result<String, RewriteError> {
        if text.len() <= BLOCKING_REWRITE {
            return rewrite_with(&self.key, text, base, headers, now);
        }
        let (key, text, base, headers) = (self.key.clone(), text.to_owned(), base.clone(), headers.to_vec());
        tokio::task::spawn_blocking(move || rewrite_with(&key, &text, &base, &headers, now))
            .await
            .unwrap_or(Err(RewriteError::Aborted))
    }
}

fn seal_url(key: &RelayKey, url: &Url, kind: UriKind, headers: &[(String, String)], now: i64) -> String {
    let ttl = if kind == UriKind::Playlist { PLAYLIST_TTL } else { MEDIA_TTL };
    let target = RelayTarget {
        url: url.to_string(),
        headers: headers.to_vec(),
        kind: kind_letter(kind),
        expires: now + ttl,
    };
    format!("/relay/{}/{}?t={}", resource_id(url), file_name(url), key.seal(&target))
}

fn rewrite_with(
    key: &RelayKey,
    text: &str,
    base: &Url,
    headers: &[(String, String)],
    now: i64,
) -> Result<String, RewriteError> {
    playlist::rewrite(text, base, |url, kind| seal_url(key, url, kind, headers, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_paths_are_stable_across_reloads_and_token_refreshes() {
        let relay = Relay {
            key: RelayKey::from_secret("k"),
            upstream: Arc::new(
                Upstream::new(&crate::net::UpstreamGuard::default(), 1, Default::default()).unwrap(),
            ),
        };
        let path = |u: &str, now: i64| {
            let url = relay.url_for(&Url::parse(u).unwrap(), UriKind::Segment, &[], now);
            url.split('?').next().unwrap().to_string()
        };
        let a = path("https://cdn.example/live/seg-7.ts?token=one", 100);
        assert_eq!(a, path("https://cdn.example/live/seg-7.ts?token=two", 900));
        assert_ne!(a, path("https://cdn.example/live/seg-8.ts?token=one", 100));
        assert!(a.starts_with("/relay/") && a.ends_with("/seg-7.ts"), "{a}");
    }

    #[test]
    fn file_names_are_safe() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(file_name(&u("https://cdn.example/a/seg-12.ts?token=x")), "seg-12.ts");
        assert_eq!(file_name(&u("https://cdn.example/a/")), "x");
        assert_eq!(file_name(&u("https://cdn.example/%22evil%22.m3u8")), "22evil22.m3u8");
    }
}
