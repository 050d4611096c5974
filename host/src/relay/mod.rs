//! The HLS relay: `playlist` rewrites playlists (pure), `token` seals what a relay URL fetches,
//! `upstream` fetches under the SSRF guard, `flight` shares one segment fetch among its viewers
//! under a byte budget, and [`Relay`] ties them together for `/proxy`, `/relay` and `/live`.
//!
//! A candidate's request headers (cookies, Referer, tokens) are scoped by [`HeaderScope`]: they
//! go only to the origin of the URL the extractor returned and the origin that URL redirected
//! to, never to another host a playlist names.

pub mod flight;
pub mod playlist;
pub mod shm;
pub mod token;
pub mod upstream;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use url::Url;

use playlist::{RewriteError, UriKind};
use token::{RelayKey, RelayTarget, TokenError};
use upstream::Upstream;

/// How long relay URLs of segments, keys and maps stay valid.
pub const MEDIA_TTL: i64 = 30 * 60;
/// How long relay URLs of child playlists stay valid (a whole session and then some).
pub const PLAYLIST_TTL: i64 = 8 * 3600;

/// The relay: key + upstream client.
pub struct Relay {
    /// Seals and opens relay tokens.
    pub key: RelayKey,
    /// Fetches upstream.
    pub upstream: Arc<Upstream>,
    /// Playlists rewritten in the last moments, so viewers of the same playlist share one
    /// rewrite (one seal per URI) instead of each paying for their own.
    pub rewritten: Rewritten,
    /// Tokens opened lately, so the viewers of one resource (who share its relay URL) pay for
    /// opening it once.
    pub opened: OpenedTokens,
}

/// A relay token opened: what it fetches, parsed.
#[derive(Debug)]
pub struct Opened {
    /// The sealed target.
    pub target: RelayTarget,
    /// `target.url`, parsed.
    pub url: Url,
    /// The headers the target may send, and where.
    pub scope: HeaderScope,
}

/// Most opened tokens kept.
const OPENED_ENTRIES: usize = 4096;

/// Opened relay tokens by their text. Only tokens that opened are kept, so a forged token never
/// enters, and each use still checks the expiry.
#[derive(Default)]
pub struct OpenedTokens(Mutex<HashMap<Box<str>, Arc<Opened>>>);

/// How long a rewritten playlist answers identical requests (Unix seconds on the app clock):
/// well inside a live playlist's refresh period, and far inside the sealed URLs' lifetimes.
const REWRITE_REUSE: i64 = 1;
/// Most rewritten playlists kept.
const REWRITE_ENTRIES: usize = 256;

/// Whether a rewrite sealed at `at` may answer at `now`.
fn fresh(at: i64, now: i64) -> bool {
    (at..=at + REWRITE_REUSE).contains(&now)
}

/// Rewritten playlists by what they depend on (upstream text, base URL, scope), with the time
/// they were sealed. Looked up by a hash of the three, so a lookup copies nothing; the stored
/// inputs are compared in full, so a hash collision is only a miss.
#[derive(Default)]
pub struct Rewritten(Mutex<HashMap<u64, Rewrite>>);

/// One rewritten playlist and its inputs.
struct Rewrite {
    text: Box<str>,
    base: Box<str>,
    scope: HeaderScope,
    at: i64,
    body: Arc<str>,
}

impl Rewritten {
    fn hash(text: &str, base: &Url, scope: &HeaderScope) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one((text, base.as_str(), scope))
    }

    fn get(&self, text: &str, base: &Url, scope: &HeaderScope, now: i64) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&Self::hash(text, base, scope))
            .filter(|r| {
                fresh(r.at, now) && *r.text == *text && *r.base == *base.as_str() && r.scope == *scope
            })
            .map(|r| r.body.to_string())
    }

    fn put(&self, text: &str, base: &Url, scope: &HeaderScope, now: i64, body: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= REWRITE_ENTRIES {
            map.retain(|_, r| fresh(r.at, now));
        }
        if map.len() < REWRITE_ENTRIES {
            let rewrite = Rewrite {
                text: text.into(),
                base: base.as_str().into(),
                scope: scope.clone(),
                at: now,
                body: body.into(),
            };
            map.insert(Self::hash(text, base, scope), rewrite);
        }
    }
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

/// Playlists larger than this are rewritten on the blocking pool, off the async workers.
pub const BLOCKING_REWRITE: usize = 256 * 1024;

/// A candidate's upstream request headers, the origins they may be sent to, and the stream its
/// resources belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HeaderScope {
    headers: Vec<(String, String)>,
    origins: Vec<String>,
    stream: Option<String>,
}

/// `scheme://host:port` of `url` (ports always written, so two loopback ports differ).
pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// Whether `origin` is [`origin_of`] `url`, compared without building it (once per relayed
/// request).
fn is_origin_of(origin: &str, url: &Url) -> bool {
    let Some((host, port)) = origin
        .strip_prefix(url.scheme())
        .and_then(|rest| rest.strip_prefix("://"))
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return false;
    };
    host == url.host_str().unwrap_or_default()
        && port.parse::<u16>().ok() == Some(url.port_or_known_default().unwrap_or_default())
}

impl HeaderScope {
    /// No headers at all (`/proxy`).
    pub fn none() -> Self {
        HeaderScope::default()
    }

    /// The headers of a candidate whose URL `requested` was finally served from `served` (after
    /// redirects): both origins may receive them.
    pub fn candidate(headers: &[(String, String)], requested: &Url, served: &Url) -> Self {
        let mut origins = vec![origin_of(requested)];
        if origin_of(served) != origins[0] {
            origins.push(origin_of(served));
        }
        HeaderScope { headers: headers.to_vec(), origins, stream: None }
    }

    /// The same scope, its relay URLs marked as resources of `stream`.
    pub fn for_stream(&self, stream: &str) -> Self {
        HeaderScope { stream: Some(stream.to_string()), ..self.clone() }
    }

    /// The stream whose resources these are, if known.
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// The scope sealed in a relay token. Tokens from before scoping carry no origins: their
    /// headers go to the target's own origin only.
    pub fn of_target(target: &RelayTarget, url: &Url) -> Self {
        let origins = if target.origins.is_empty() { vec![origin_of(url)] } else { target.origins.clone() };
        HeaderScope { headers: target.headers.clone(), origins, stream: target.stream.clone() }
    }

    /// Whether `url` may receive the headers.
    pub fn covers(&self, url: &Url) -> bool {
        self.origins.iter().any(|origin| is_origin_of(origin, url))
    }

    /// The headers to send to `url`: all of them on a covered origin, none elsewhere.
    pub fn headers_for(&self, url: &Url) -> &[(String, String)] {
        if self.covers(url) { &self.headers } else { &[] }
    }
}

impl Relay {
    /// Opens a relay token (`token::RelayKey::open`), once per token text while it is kept.
    pub fn open(&self, token: &str, now: i64) -> Result<Arc<Opened>, TokenError> {
        let kept = self.opened.0.lock().unwrap_or_else(|p| p.into_inner()).get(token).cloned();
        let opened = match kept {
            Some(opened) => opened,
            None => {
                let target = self.key.open(token, now)?;
                let url = Url::parse(&target.url).map_err(|_| TokenError::Invalid)?;
                let scope = HeaderScope::of_target(&target, &url);
                let opened = Arc::new(Opened { target, url, scope });
                let mut map = self.opened.0.lock().unwrap_or_else(|p| p.into_inner());
                if map.len() >= OPENED_ENTRIES {
                    map.retain(|_, kept| kept.target.expires >= now);
                    if map.len() >= OPENED_ENTRIES {
                        map.clear();
                    }
                }
                map.insert(token.into(), opened.clone());
                opened
            }
        };
        if opened.target.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(opened)
    }

    /// The relay URL (path-absolute, so it points at this host) for `url`, carrying the headers
    /// of `scope` only when `url` is on one of its origins:
    /// `/relay/{id}/{file}?t={sealed}`. The path depends only on the upstream resource (scheme,
    /// host, path), never on its query, the time or the nonce, so a segment keeps its URI across
    /// playlist reloads and CDN token refreshes, as HLS requires of live playlists (players such
    /// as hls.js compare segment URIs without their query).
    pub fn url_for(&self, url: &Url, kind: UriKind, scope: &HeaderScope, now: i64) -> String {
        seal_url(&self.key, url, kind, scope, now)
    }

    /// Rewrites a playlist so every URI goes through this relay, with the headers of `scope`
    /// where it allows them. The same text, base and scope within [`REWRITE_REUSE`] get the same
    /// rewrite (relay URLs are not per viewer). Large playlists are rewritten on the blocking pool.
    pub async fn rewrite(
        &self,
        text: &str,
        base: &Url,
        scope: &HeaderScope,
        now: i64,
    ) -> Result<String, RewriteError> {
        if let Some(body) = self.rewritten.get(text, base, scope, now) {
            return Ok(body);
        }
        let body = if text.len() <= BLOCKING_REWRITE {
            rewrite_with(&self.key, text, base, scope, now)?
        } else {
            let (key, text, base, scope) = (self.key.clone(), text.to_owned(), base.clone(), scope.clone());
            tokio::task::spawn_blocking(move || rewrite_with(&key, &text, &base, &scope, now))
                .await
                .unwrap_or(Err(RewriteError::Aborted))?
        };
        self.rewritten.put(text, base, scope, now, &body);
        Ok(body)
    }
}

fn seal_url(key: &RelayKey, url: &Url, kind: UriKind, scope: &HeaderScope, now: i64) -> String {
    let ttl = if kind == UriKind::Playlist { PLAYLIST_TTL } else { MEDIA_TTL };
    let covered = !scope.headers.is_empty() && scope.covers(url);
    let target = RelayTarget {
        url: url.to_string(),
        headers: if covered { scope.headers.clone() } else { Vec::new() },
        origins: if covered { scope.origins.clone() } else { Vec::new() },
        stream: scope.stream.clone(),
        kind: kind_letter(kind),
        expires: now + ttl,
    };
    format!("/relay/{}/{}?t={}", resource_id(url), file_name(url), key.seal(&target))
}

fn rewrite_with(
    key: &RelayKey,
    text: &str,
    base: &Url,
    scope: &HeaderScope,
    now: i64,
) -> Result<String, RewriteError> {
    playlist::rewrite(text, base, |url, kind| seal_url(key, url, kind, scope, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relay with key `k` and an upstream client that is never used.
    fn relay() -> Relay {
        Relay {
            rewritten: Rewritten::default(),
            opened: OpenedTokens::default(),
            key: RelayKey::from_secret("k"),
            upstream: Arc::new(
                Upstream::new(&crate::net::UpstreamGuard::default(), 1, Default::default()).unwrap(),
            ),
        }
    }

    #[tokio::test]
    async fn viewers_of_the_same_playlist_share_one_rewrite_for_a_moment() {
        let relay = relay();
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg1.ts\n";
        let base = Url::parse("https://cdn.example/live/index.m3u8").unwrap();
        let none = HeaderScope::none();
        let first = relay.rewrite(text, &base, &none, 1000).await.unwrap();
        assert_eq!(relay.rewrite(text, &base, &none, 1001).await.unwrap(), first, "shared within the moment");
        assert_ne!(relay.rewrite(text, &base, &none, 1002).await.unwrap(), first, "sealed again after it");
        let other = none.for_stream("s1");
        assert_ne!(
            relay.rewrite(text, &base, &other, 1002).await.unwrap(),
            first,
            "another scope, another rewrite"
        );
        let changed = text.replace("seg1", "seg2");
        assert!(relay.rewrite(&changed, &base, &none, 1002).await.unwrap().contains("seg2.ts"));
    }

    #[test]
    fn a_token_is_opened_once_and_still_expires() {
        let relay = relay();
        let url = Url::parse("https://cdn.example/live/seg1.ts").unwrap();
        let scope = HeaderScope::candidate(&[("Cookie".into(), "c=1".into())], &url, &url).for_stream("s1");
        let relay_url = relay.url_for(&url, UriKind::Segment, &scope, 1000);
        let token = relay_url.split("?t=").nth(1).unwrap();
        let first = relay.open(token, 1000).unwrap();
        assert_eq!((first.url.as_str(), first.target.kind), (url.as_str(), 's'));
        assert_eq!(first.scope, scope, "headers, origins and stream as sealed");
        assert!(Arc::ptr_eq(&first, &relay.open(token, 1001).unwrap()), "opened once");
        let expires = first.target.expires;
        assert_eq!(
            relay.open(token, expires + 1).unwrap_err(),
            TokenError::Expired,
            "kept, and still expired"
        );
        let kept = relay.opened.0.lock().unwrap().len();
        let mut forged = token.to_string().into_bytes();
        let last = forged.len() - 3;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(relay.open(&forged, 1000).unwrap_err(), TokenError::Invalid);
        assert_eq!(relay.opened.0.lock().unwrap().len(), kept, "a token that does not open is not kept");
    }

    #[test]
    fn relay_paths_are_stable_across_reloads_and_token_refreshes() {
        let relay = relay();
        let path = |u: &str, now: i64| {
            let url = relay.url_for(&Url::parse(u).unwrap(), UriKind::Segment, &HeaderScope::none(), now);
            url.split('?').next().unwrap().to_string()
        };
        let a = path("https://cdn.example/live/seg-7.ts?token=one", 100);
        assert_eq!(a, path("https://cdn.example/live/seg-7.ts?token=two", 900));
        assert_ne!(a, path("https://cdn.example/live/seg-8.ts?token=one", 100));
        assert!(a.starts_with("/relay/") && a.ends_with("/seg-7.ts"), "{a}");
    }

    #[test]
    fn headers_are_sealed_only_for_the_candidates_origins() {
        let key = RelayKey::from_secret("k");
        let u = |s: &str| Url::parse(s).unwrap();
        let headers = vec![("Cookie".to_string(), "session=secret".to_string())];
        let scope = HeaderScope::candidate(
            &headers,
            &u("http://127.0.0.1:1000/master.m3u8"),
            &u("http://127.0.0.1:2000/edge/master.m3u8"),
        );
        let sealed = |url: &str| {
            let relay_url = seal_url(&key, &u(url), UriKind::Segment, &scope, 0);
            let token = relay_url.split("?t=").nth(1).unwrap().to_string();
            key.open(&token, 0).unwrap()
        };
        assert_eq!(sealed("http://127.0.0.1:1000/a.ts").headers, headers);
        assert_eq!(sealed("http://127.0.0.1:2000/b.ts").headers, headers, "the redirect target");
        for other in ["http://127.0.0.1:3000/c.ts", "https://127.0.0.1:1000/d.ts", "http://evil.example/e.ts"]
        {
            let target = sealed(other);
            assert!(target.headers.is_empty() && target.origins.is_empty(), "{other}");
        }
        // A child playlist's token carries the candidate's origins, not its own redirects.
        let child = HeaderScope::of_target(
            &sealed("http://127.0.0.1:1000/v.m3u8"),
            &u("http://127.0.0.1:1000/v.m3u8"),
        );
        assert_eq!(child, scope);
        // The stream a resource belongs to travels from a playlist to its children.
        let owned = scope.for_stream("st_1");
        let relay_url = seal_url(&key, &u("http://127.0.0.1:1000/v.m3u8"), UriKind::Playlist, &owned, 0);
        let target = key.open(relay_url.split("?t=").nth(1).unwrap(), 0).unwrap();
        assert_eq!(
            HeaderScope::of_target(&target, &u("http://127.0.0.1:1000/v.m3u8")).stream(),
            Some("st_1")
        );
        assert_eq!(child.stream(), None);
        assert!(child.headers_for(&u("http://127.0.0.1:3000/x.ts")).is_empty());
        // Old tokens without origins: the target's own origin only.
        let old = RelayTarget {
            url: "http://a.example/v.m3u8".into(),
            headers: headers.clone(),
            origins: vec![],
            stream: None,
            kind: 'p',
            expires: 0,
        };
        let scope = HeaderScope::of_target(&old, &u("http://a.example/v.m3u8"));
        assert_eq!(scope.headers_for(&u("http://a.example/s.ts")), headers.as_slice());
        assert!(scope.headers_for(&u("http://b.example/s.ts")).is_empty());
    }

    #[test]
    fn file_names_are_safe() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(file_name(&u("https://cdn.example/a/seg-12.ts?token=x")), "seg-12.ts");
        assert_eq!(file_name(&u("https://cdn.example/a/")), "x");
        assert_eq!(file_name(&u("https://cdn.example/%22evil%22.m3u8")), "22evil22.m3u8");
    }
}
