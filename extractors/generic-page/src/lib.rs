//! `generic-page` extractor: finds HLS playlists in an ordinary web page, in the shapes sites
//! embed and hide them, with no per-site code.
//!
//! Every HTML document read goes through [`find::playlist_refs`], which sees through packed
//! `eval(function(p,a,c,k,e,d)…)` scripts (nested), JS escapes, HTML entities, base64 (in
//! `atob()`, literals, JSON and attributes), literal string building, URLs inside other URLs'
//! queries and fragments, and the setup calls of the common web players, and ranks what it finds
//! (player setup > video/source tag or iframe query > JSON-LD > script > page text/comment).
//! JSON the page's script `fetch()`es from its own host (`fetch() JSON`) counts as script data.
//! Iframes (and non-playlist JSON-LD `embedUrl`s) are followed recursively up to `max_depth`
//! levels, their finds labelled `iframe → video` and so on. Finally the optional `api` URL is
//! read as JSON and every playlist URL anywhere in it is taken (`JSON API`, with its top-level
//! `expires_at` when present).
//!
//! Relative and protocol-relative URLs are resolved against the document's `<base href>` (itself
//! resolved against the document's final URL) or else its final URL; each candidate's `Referer`
//! is that document.
//!
//! Candidates are then ordered by place (document order within a place) and verified, best
//! first: each is fetched once and kept if it answers 2xx starting with `#EXTM3U` (after an
//! optional BOM and whitespace); one that answers anything else 2xx, or 404/410, is dropped;
//! one that cannot be checked (fetch refused, timeout, other status, past the budget) is kept
//! after the verified ones.
//!
//! Settings: `page` (required), `max_depth` (iframe levels to follow, default 2, at most 5),
//! `api` (optional JSON URL), `label` (optional; prefixed to each candidate's label).
//!
//! It declares no hosts of its own: the operator grants each source the sites it may read
//! (`allow_hosts = ["*.example.com"]` in its `[[source]]`, or `["*"]` for any public host).

use pitwall_extractor_sdk::find::Place;
use pitwall_extractor_sdk::prelude::*;
use pitwall_extractor_sdk::serde_json::Value;
use pitwall_extractor_sdk::{Level, log, url};

/// Iframe levels followed when `max_depth` is not set.
const DEFAULT_MAX_DEPTH: u32 = 2;
/// Most iframe levels `max_depth` may ask for.
const MAX_MAX_DEPTH: u32 = 5;
// Fetch budget: the host caps fetches at 32 per call; this extractor spends at most
// MAX_DOCUMENTS (page, frames, fetch() JSON) + 1 (`api`) + MAX_VERIFICATIONS = 29.

/// Documents (page, frames, `fetch()` JSON) one call reads at most.
const MAX_DOCUMENTS: usize = 16;
/// Candidates verified (fetched) per call; the rest are kept unverified after them.
const MAX_VERIFICATIONS: usize = 12;
/// `fetch()` JSON calls followed per document.
const MAX_FETCH_CALLS: usize = 3;

/// The generic page extractor.
pub struct GenericPage;

impl Extractor for GenericPage {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "generic-page".into(),
            name: "Generic page".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            // None of its own: each source's `allow_hosts` grants its sites.
            allowed_hosts: Vec::new(),
        }
    }

    fn extract(_session: SessionRef, settings: Settings) -> Result<Vec<StreamCandidate>, ExtractError> {
        let page = settings.require("page")?;
        require_http("page", page)?;
        let max_depth = match settings.get("max_depth") {
            None => DEFAULT_MAX_DEPTH,
            Some(v) => v.parse().ok().filter(|d| *d <= MAX_MAX_DEPTH).ok_or_else(|| {
                error(Step::Other, format!("setting `max_depth` must be 0..={MAX_MAX_DEPTH}, not {v:?}"))
            })?,
        };
        let api = settings.get("api");
        if let Some(api) = api {
            require_http("api", api)?;
        }

        let top = http::get(page, &[("User-Agent", http::BROWSER_USER_AGENT), ("Accept", "text/html,*/*")])?
            .ensure_success()?;
        let mut search = Search { max_depth, found: Vec::new(), read: vec![top.final_url.clone()] };
        search.scan_response(&top, "", 0);
        if let Some(api) = api
            && !search.read.iter().any(|r| r == api)
        {
            search.read.push(api.to_string());
            let answer = http::get(api, &[("Accept", "application/json"), ("Referer", &top.final_url)])?
                .ensure_success()?
                .json(Step::UrlExtraction)?;
            search.scan_json(&answer, api, "JSON API", &top.final_url);
        }
        if search.found.is_empty() {
            return Err(error(
                Step::UrlExtraction,
                format!(
                    "no HLS playlist in {} (looked at player setups, video/source tags, JSON-LD, scripts \
                     (packed too), escapes, base64, URLs in queries, fetch() JSON, iframes {max_depth} deep{})",
                    url::redact(page),
                    if api.is_some() { ", the API" } else { "" }
                ),
            ));
        }
        let mut found = search.verified().map_err(|dropped| {
            error(
                Step::UrlExtraction,
                format!(
                    "no HLS playlist in {}: none of the URLs found is a playlist: {dropped}",
                    url::redact(page)
                ),
            )
        })?;
        if let Some(label) = settings.get("label") {
            for c in &mut found {
                c.label = format!("{label} ({})", c.label);
            }
        }
        Ok(found)
    }
}

export_extractor!(GenericPage);

fn require_http(key: &str, value: &str) -> Result<(), ExtractError> {
    if is_http_url(value) {
        Ok(())
    } else {
        Err(error(Step::Other, format!("setting `{key}` is not an http(s) URL: {value:?}")))
    }
}

/// One call's search: what was found so far and which documents were read.
struct Search {
    max_depth: u32,
    found: Vec<Found>,
    read: Vec<String>,
}

/// A candidate and where it was seen (its rank).
struct Found {
    candidate: StreamCandidate,
    place: Place,
}

impl Search {
    /// Adds `reference` (resolved against `base`) at `place`; a URL already found keeps the
    /// better of the two places.
    fn add(
        &mut self,
        base: &str,
        reference: &str,
        found_as: (Place, &str),
        referer: &str,
        expires_at: Option<u64>,
    ) {
        let Some(url) = url::join(base, reference) else { return };
        let (place, label) = found_as;
        if let Some(seen) = self.found.iter_mut().find(|f| f.candidate.url == url) {
            if place < seen.place {
                seen.place = place;
                seen.candidate.label = label.to_string();
                seen.candidate.headers = vec![("Referer".into(), referer.to_string())];
            }
            return;
        }
        self.found.push(Found {
            candidate: StreamCandidate {
                url,
                label: label.to_string(),
                headers: vec![("Referer".into(), referer.to_string())],
                expires_at,
            },
            place,
        });
    }

    /// Scans a fetched document: JSON by content type or shape, HTML otherwise.
    fn scan_response(&mut self, response: &Response, prefix: &str, depth: u32) {
        let text = response.text();
        let json_type = response.header("content-type").is_some_and(|t| t.contains("json"));
        if (json_type || text.trim_start().starts_with(['{', '[']))
            && let Ok(value) = pitwall_extractor_sdk::serde_json::from_str::<Value>(&text)
        {
            let label = format!("{prefix}JSON");
            self.scan_json(&value, &response.final_url, &label, &response.final_url);
            return;
        }
        self.scan_html(&text, &response.final_url, prefix, depth);
    }

    /// Every shape in one HTML document at `page` (its final URL, the candidates' Referer);
    /// relative references resolve against its `<base href>` when it has one. Then its frames,
    /// `depth + 1` levels down.
    fn scan_html(&mut self, html: &str, page: &str, prefix: &str, depth: u32) {
        let base =
            find::base_href(html).and_then(|b| url::join(page, &b)).unwrap_or_else(|| page.to_string());
        for r in find::playlist_refs(html) {
            self.add(&base, &r.url, (r.place, &format!("{prefix}{}", r.how)), page, None);
        }
        let mut frames = find::attr_values(html, "iframe", "src");
        for ld in find::json_ld(html) {
            for u in find::json_key_strings(&ld, "embedUrl") {
                if url::join(&base, u).is_some_and(|abs| !is_playlist(&abs)) {
                    frames.push(u.to_string());
                }
            }
        }
        for call in find::fetch_urls(html).into_iter().take(MAX_FETCH_CALLS) {
            let Some(api) = url::join(&base, &call) else { continue };
            if url::host(&api) != url::host(page) {
                continue; // analytics and other sites' APIs are not worth a fetch
            }
            if let Some(response) = self.read_document(&api, page, "application/json")
                && let Ok(value) = response.json(Step::UrlExtraction)
            {
                self.scan_json(&value, &response.final_url, &format!("{prefix}fetch() JSON"), page);
            }
        }
        if depth >= self.max_depth {
            return;
        }
        for frame in frames {
            let Some(frame_url) = url::join(&base, &frame) else { continue };
            // Browsers never send the fragment; a `#url=…` in it was read above.
            let frame_url = frame_url.split('#').next().unwrap_or_default().to_string();
            if let Some(response) = self.read_document(&frame_url, page, "text/html,*/*") {
                self.scan_response(&response, &format!("{prefix}iframe → "), depth + 1);
            }
        }
    }

    /// Playlist URLs anywhere in a JSON document at `base` (ranked as script data).
    fn scan_json(&mut self, value: &Value, base: &str, label: &str, referer: &str) {
        let expires_at = value.get("expires_at").and_then(Value::as_u64);
        for s in find::json_strings(value) {
            if is_playlist(s) {
                self.add(base, s, (Place::Script, label), referer, expires_at);
            }
        }
    }

    /// Fetches a linked document once per call, within the budget; failures are logged and
    /// skipped, since a broken frame or API should not hide what the page itself shows.
    fn read_document(&mut self, target: &str, referer: &str, accept: &str) -> Option<Response> {
        if self.read.iter().any(|r| r == target) || self.read.len() >= MAX_DOCUMENTS {
            return None;
        }
        self.read.push(target.to_string());
        let headers = [("User-Agent", http::BROWSER_USER_AGENT), ("Accept", accept), ("Referer", referer)];
        match http::get(target, &headers).and_then(ResponseExt::ensure_success) {
            Ok(response) => Some(response),
            Err(e) => {
                log(Level::Warn, &format!("skipping {}: {}", url::redact(target), e.detail));
                None
            }
        }
    }

    /// The candidates best place first, each verified by fetching it (at most
    /// [`MAX_VERIFICATIONS`]): playlists first, then those that could not be checked; what
    /// answered but is not a playlist is dropped. `Err` lists what was dropped when nothing is left.
    fn verified(self) -> Result<Vec<StreamCandidate>, String> {
        let mut found = self.found;
        found.sort_by_key(|f| f.place); // stable: document order within a place
        let (mut playlists, mut unchecked, mut dropped) = (Vec::new(), Vec::new(), Vec::new());
        for (i, f) in found.into_iter().enumerate() {
            let verdict = if i < MAX_VERIFICATIONS {
                verify(&f.candidate)
            } else {
                Verdict::Unchecked("over the fetch budget".into())
            };
            match verdict {
                Verdict::Playlist => playlists.push(f.candidate),
                Verdict::Unchecked(why) => {
                    log(Level::Info, &format!("kept unverified {}: {why}", url::redact(&f.candidate.url)));
                    unchecked.push(f.candidate);
                }
                Verdict::NotPlaylist(why) => {
                    log(Level::Info, &format!("dropped {}: {why}", url::redact(&f.candidate.url)));
                    dropped.push(format!("{} ({why})", url::redact(&f.candidate.url)));
                }
            }
        }
        playlists.append(&mut unchecked);
        if playlists.is_empty() && !dropped.is_empty() {
            return Err(dropped.join(", "));
        }
        Ok(playlists)
    }
}

/// What fetching a candidate said about it.
enum Verdict {
    /// 2xx starting with `#EXTM3U`.
    Playlist,
    /// Answered, but not a playlist: 2xx with another body, or 404/410.
    NotPlaylist(String),
    /// Could not tell (refused by the host's policy, timeout, 401/403/5xx, over the budget):
    /// kept after the verified ones, since the relay may still reach it.
    Unchecked(String),
}

fn verify(candidate: &StreamCandidate) -> Verdict {
    let referer = candidate.headers.iter().find(|(k, _)| k == "Referer").map_or("", |(_, v)| v.as_str());
    let headers = [
        ("User-Agent", http::BROWSER_USER_AGENT),
        ("Accept", "application/vnd.apple.mpegurl,application/x-mpegURL,*/*"),
        ("Referer", referer),
    ];
    match http::fetch(&http::request("GET", &candidate.url, &headers, None)) {
        Ok(r) if r.is_success() && find::is_hls_playlist(&r.body) => Verdict::Playlist,
        Ok(r) if r.is_success() => Verdict::NotPlaylist(format!("answered {} without #EXTM3U", r.status)),
        Ok(r) if matches!(r.status, 404 | 410) => Verdict::NotPlaylist(format!("answered {}", r.status)),
        Ok(r) => Verdict::Unchecked(format!("answered {}", r.status)),
        Err(e) => Verdict::Unchecked(http::describe(&e)),
    }
}

/// Whether a URL's path ends in `.m3u8`.
fn is_playlist(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    path.to_ascii_lowercase().ends_with(".m3u8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(depth: u32) -> Search {
        Search { max_depth: depth, found: Vec::new(), read: Vec::new() }
    }

    fn found(s: &Search) -> Vec<(&str, &str)> {
        s.found.iter().map(|f| (f.candidate.url.as_str(), f.candidate.label.as_str())).collect()
    }

    #[test]
    fn shapes_in_one_page_are_labelled_and_deduplicated() {
        let base = "http://site.demo.invalid/watch/index.html";
        let html = r#"<video src="/hls/a.m3u8"></video><video><source src="b.m3u8?t=1"></video>
            <script type="application/ld+json">{"contentUrl": "/hls/a.m3u8", "embedUrl": "https://x.demo.invalid/c.m3u8"}</script>
            <script>var u = "https:\/\/cdn.demo.invalid\/d.m3u8"; el.src = atob("aHR0cDovL2UuZGVtby5pbnZhbGlkL2UubTN1OA==");</script>
            <img src="/logo.png">"#;
        let mut s = search(0);
        s.scan_html(html, base, "", 0);
        assert_eq!(
            found(&s),
            [
                ("http://site.demo.invalid/hls/a.m3u8", "video"),
                ("http://site.demo.invalid/watch/b.m3u8?t=1", "source"),
                ("https://x.demo.invalid/c.m3u8", "JSON-LD"),
                ("https://cdn.demo.invalid/d.m3u8", "script"),
                ("http://e.demo.invalid/e.m3u8", "atob()"),
            ]
        );
        assert!(s.found.iter().all(|f| f.candidate.headers == [("Referer".to_string(), base.to_string())]));
    }

    #[test]
    fn relative_urls_resolve_against_base_href_and_referer_stays_the_page() {
        let page = "https://site.demo.invalid/watch/live?x=1";
        let html = r#"<head><base href="https://cdn.demo.invalid/hls/"></head>
            <script>hls.loadSource("master.m3u8?t=1")</script><source src="//other.demo.invalid/o.m3u8">"#;
        let mut s = search(0);
        s.scan_html(html, page, "iframe → ", 0);
        assert_eq!(
            found(&s),
            [
                ("https://cdn.demo.invalid/hls/master.m3u8?t=1", "iframe → hls.js"),
                ("https://other.demo.invalid/o.m3u8", "iframe → source"),
            ]
        );
        assert_eq!(s.found[0].candidate.headers, [("Referer".to_string(), page.to_string())]);
    }

    #[test]
    fn a_better_place_later_wins() {
        let base = "http://site.demo.invalid/";
        let mut s = search(0);
        s.scan_html("<!-- /a.m3u8 -->", base, "", 0);
        s.scan_html(
            "<script>jwplayer('p').setup({file: '/a.m3u8'})</script>",
            "http://site.demo.invalid/frame",
            "iframe → ",
            0,
        );
        assert_eq!(found(&s), [("http://site.demo.invalid/a.m3u8", "iframe → JW Player")]);
        assert_eq!(s.found[0].place, Place::PlayerSetup);
        assert_eq!(s.found[0].candidate.headers[0].1, "http://site.demo.invalid/frame");
    }

    #[test]
    fn json_anywhere_with_expiry() {
        let v: Value = pitwall_extractor_sdk::serde_json::from_str(
            r#"{"expires_at": 7, "data": [{"hls": "/live/x.m3u8?token=1"}, {"img": "/a.png"}], "s": "x.m3u8.bak"}"#,
        )
        .unwrap();
        let mut s = search(0);
        s.scan_json(&v, "http://api.demo.invalid/v1/stream", "JSON API", "http://site.demo.invalid/");
        assert_eq!(s.found.len(), 1);
        let c = &s.found[0].candidate;
        assert_eq!(c.url, "http://api.demo.invalid/live/x.m3u8?token=1");
        assert_eq!(c.expires_at, Some(7));
        assert_eq!(c.headers[0].1, "http://site.demo.invalid/");
    }

    #[test]
    fn only_playlists() {
        assert!(is_playlist("http://a/x.M3U8?x=1"));
        assert!(!is_playlist("http://a/x.m3u8.bak"));
        assert!(!is_playlist("http://a/page?u=x.m3u8"));
    }
}
