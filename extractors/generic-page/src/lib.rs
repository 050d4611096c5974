//! `generic-page` extractor: finds HLS playlists in an ordinary web page, in the shapes sites
//! embed them, with no per-site code.
//!
//! Looks at, in this order (the first place a URL is seen names it; duplicates are dropped):
//! `<video src>` (`video`), `<source src>` (`source`), JSON-LD `contentUrl`/`embedUrl`
//! (`JSON-LD`), `.m3u8` strings in scripts and JSON (`script`), `atob("…")` arguments (`atob()`),
//! other base64 string literals (`base64`), JSON the page's script `fetch()`es from its own host
//! (`fetch() JSON`), then iframes (and non-playlist JSON-LD `embedUrl`s), followed recursively
//! up to `max_depth` levels, their finds labelled `iframe → video` and so on. Finally the
//! optional `api` URL is read as JSON and every playlist URL anywhere in it is taken
//! (`JSON API`, with its top-level `expires_at` when present).
//! Relative URLs are resolved against the final URL of the document they appear in, and each
//! candidate's `Referer` is that document.
//!
//! Settings: `page` (required), `max_depth` (iframe levels to follow, default 2, at most 5),
//! `api` (optional JSON URL), `label` (optional; prefixed to each candidate's label).
//!
//! It declares no hosts of its own: the operator grants each source the sites it may read
//! (`allow_hosts = ["*.example.com"]` in its `[[source]]`, or `["*"]` for any public host).

use pitwall_extractor_sdk::prelude::*;
use pitwall_extractor_sdk::serde_json::Value;
use pitwall_extractor_sdk::{Level, log, url};

/// Iframe levels followed when `max_depth` is not set.
const DEFAULT_MAX_DEPTH: u32 = 2;
/// Most iframe levels `max_depth` may ask for.
const MAX_MAX_DEPTH: u32 = 5;
/// Documents (page, frames, JSON) one call reads at most; the host caps fetches at 32 per call.
const MAX_DOCUMENTS: usize = 16;
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
                    "no HLS playlist in {} (looked at video/source tags, JSON-LD, scripts, atob/base64, \
                     fetch() JSON, iframes {max_depth} deep{})",
                    url::redact(page),
                    if api.is_some() { ", the API" } else { "" }
                ),
            ));
        }
        if let Some(label) = settings.get("label") {
            for c in &mut search.found {
                c.label = format!("{label} ({})", c.label);
            }
        }
        Ok(search.found)
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
    found: Vec<StreamCandidate>,
    read: Vec<String>,
}

impl Search {
    /// Adds `reference` (resolved against `base`) if it looks like a playlist and is new.
    fn add(&mut self, base: &str, reference: &str, label: &str, referer: &str, expires_at: Option<u64>) {
        let Some(url) = url::join(base, reference) else { return };
        if !is_playlist(&url) || self.found.iter().any(|c| c.url == url) {
            return;
        }
        self.found.push(StreamCandidate {
            url,
            label: label.to_string(),
            headers: vec![("Referer".into(), referer.to_string())],
            expires_at,
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

    /// Every shape in one HTML document at `base`; then its frames, `depth + 1` levels down.
    fn scan_html(&mut self, html: &str, base: &str, prefix: &str, depth: u32) {
        let at = |what: &str| format!("{prefix}{what}");
        for src in find::attr_values(html, "video", "src") {
            self.add(base, &src, &at("video"), base, None);
        }
        for src in find::attr_values(html, "source", "src") {
            self.add(base, &src, &at("source"), base, None);
        }
        let mut frames = find::attr_values(html, "iframe", "src");
        for ld in find::json_ld(html) {
            for u in find::json_key_strings(&ld, "contentUrl") {
                self.add(base, u, &at("JSON-LD"), base, None);
            }
            for u in find::json_key_strings(&ld, "embedUrl") {
                match url::join(base, u) {
                    Some(abs) if is_playlist(&abs) => self.add(base, u, &at("JSON-LD"), base, None),
                    _ => frames.push(u.to_string()),
                }
            }
        }
        for u in find::m3u8_urls(html).into_iter().chain(find::m3u8_refs(html)) {
            self.add(base, &u, &at("script"), base, None);
        }
        for decoded in find::atob_strings(html) {
            self.add_decoded(base, &decoded, &at("atob()"));
        }
        for decoded in find::base64_strings(html) {
            self.add_decoded(base, &decoded, &at("base64"));
        }
        for call in find::fetch_urls(html).into_iter().take(MAX_FETCH_CALLS) {
            let Some(api) = url::join(base, &call) else { continue };
            if url::host(&api) != url::host(base) {
                continue; // analytics and other sites' APIs are not worth a fetch
            }
            if let Some(response) = self.read_document(&api, base, "application/json")
                && let Ok(value) = response.json(Step::UrlExtraction)
            {
                self.scan_json(&value, &response.final_url, &at("fetch() JSON"), base);
            }
        }
        if depth >= self.max_depth {
            return;
        }
        for frame in frames {
            let Some(frame_url) = url::join(base, &frame) else { continue };
            if let Some(response) = self.read_document(&frame_url, base, "text/html,*/*") {
                self.scan_response(&response, &format!("{prefix}iframe → "), depth + 1);
            }
        }
    }

    /// Playlist URLs anywhere in a JSON document at `base`.
    fn scan_json(&mut self, value: &Value, base: &str, label: &str, referer: &str) {
        let expires_at = value.get("expires_at").and_then(Value::as_u64);
        for s in find::json_strings(value) {
            if is_playlist(s.split(['?', '#']).next().unwrap_or_default()) || s.contains(".m3u8?") {
                self.add(base, s, label, referer, expires_at);
            }
        }
    }

    fn add_decoded(&mut self, base: &str, decoded: &str, label: &str) {
        let decoded = decoded.trim();
        for u in find::m3u8_urls(decoded) {
            self.add(base, &u, label, base, None);
        }
        if !decoded.contains(char::is_whitespace) {
            self.add(base, decoded, label, base, None);
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
}

/// Whether an absolute URL's path ends in `.m3u8`.
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

    #[test]
    fn shapes_in_one_page_are_labelled_and_deduplicated() {
        let base = "http://site.demo.invalid/watch/index.html";
        let html = r#"<video src="/hls/a.m3u8"></video><video><source src="b.m3u8?t=1"></video>
            <script type="application/ld+json">{"contentUrl": "/hls/a.m3u8", "embedUrl": "https://x.demo.invalid/c.m3u8"}</script>
            <script>var u = "https:\/\/cdn.demo.invalid\/d.m3u8"; el.src = atob("aHR0cDovL2UuZGVtby5pbnZhbGlkL2UubTN1OA==");</script>
            <img src="/logo.png">"#;
        let mut s = search(0);
        s.scan_html(html, base, "", 0);
        let got: Vec<(&str, &str)> = s.found.iter().map(|c| (c.url.as_str(), c.label.as_str())).collect();
        assert_eq!(
            got,
            [
                ("http://site.demo.invalid/hls/a.m3u8", "video"),
                ("http://site.demo.invalid/watch/b.m3u8?t=1", "source"),
                ("https://x.demo.invalid/c.m3u8", "JSON-LD"),
                ("https://cdn.demo.invalid/d.m3u8", "script"),
                ("http://e.demo.invalid/e.m3u8", "atob()"),
            ]
        );
        assert!(s.found.iter().all(|c| c.headers == [("Referer".to_string(), base.to_string())]));
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
        assert_eq!(s.found[0].url, "http://api.demo.invalid/live/x.m3u8?token=1");
        assert_eq!(s.found[0].expires_at, Some(7));
        assert_eq!(s.found[0].headers[0].1, "http://site.demo.invalid/");
    }

    #[test]
    fn only_playlists() {
        assert!(is_playlist("http://a/x.M3U8?x=1"));
        assert!(!is_playlist("http://a/x.m3u8.bak"));
        assert!(!is_playlist("http://a/page?u=x.m3u8"));
    }
}
